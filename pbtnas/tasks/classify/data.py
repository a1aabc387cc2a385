"""scikit-learn's 8x8 digits (1,797 images, bundled with the package: no download), split once by a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class DigitsSplit:
    x_train: Tensor  # [n, 1, 8, 8], float32 in [0, 1]
    y_train: Tensor  # [n], int64
    x_val: Tensor
    y_val: Tensor


def load_digits_split(seed: int, val_fraction: float, train_limit: int | None = None) -> DigitsSplit:
    # scikit-learn loads here, in the worker that trains, not in every process that imports the task (the driver
    # only validates the task's options: about 1.3 s of its start)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=val_fraction, random_state=seed, stratify=y)
    if train_limit is not None:
        x_tr, y_tr = x_tr[:train_limit], y_tr[:train_limit]
    return DigitsSplit(torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_va), torch.from_numpy(y_va))
