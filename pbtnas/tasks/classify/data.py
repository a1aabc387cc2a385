"""The classify task's data: what a source yields (``SourceArrays``), what the task trains on (``ClassifyData``) and
the one function between them (``load_data``), which holds out the validation split (and the test split when
asked) from the training data, seeded and stratified, when the source has none.

A source family lives in its own module (embedded, torchvision_sets, arrays, imagefolder); ``sources.py`` maps
``--data`` to them. Samples stay in memory as tensors: uint8 images as uint8 (converted per batch, a quarter of
the memory), everything else as float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pbtnas.tasks.dataset_files import DatasetError

if TYPE_CHECKING:
    from torch import Tensor

    from pbtnas.tasks.classify.options import ClassifyOptions

__all__ = ["ClassifyData", "DatasetError", "DataInfo", "SourceArrays", "hold_out", "load_data", "load_digits_split"]


@dataclass(frozen=True)
class DataInfo:
    """What the driver's preflight needs to know of the data, read without loading it."""

    description: str  # "npz file data/x.npz", "CIFAR-10 in data/cifar-10-batches-py"
    sample_shape: tuple[int, ...]
    num_classes: int


@dataclass(frozen=True)
class SourceArrays:
    """A source's samples as numpy arrays [N, ...] (uint8 images or float32) and int64 labels in [0, classes)."""

    description: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ClassifyData:
    """The splits as tensors. ``x_*`` is uint8 (images in 0..255, scaled per batch) or float32."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    num_classes: int
    x_test: Tensor | None = None
    y_test: Tensor | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])


def hold_out(x: np.ndarray, y: np.ndarray, fraction: float, seed: int, what: str,
             description: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_kept, x_held, y_kept, y_held): ``fraction`` of the samples held out, stratified by class, seeded."""
    from sklearn.model_selection import train_test_split

    try:
        return tuple(train_test_split(x, y, test_size=fraction, random_state=seed, stratify=y))  # type: ignore
    except ValueError as err:  # a class with one sample, a fraction that leaves no sample of some class
        raise DatasetError(f"{description}: cannot hold out a stratified {what} split of {fraction:g} from "
                        f"{len(y)} samples: {err}") from None


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    import torch

    xs = torch.from_numpy(np.ascontiguousarray(x if x.dtype == np.uint8 else x.astype(np.float32, copy=False)))
    return xs, torch.from_numpy(np.ascontiguousarray(y.astype(np.int64, copy=False)))


def load_data(options: ClassifyOptions) -> ClassifyData:
    """The data of ``options.data``, split: validation (and test, with ``test_fraction``) held out when the source
    has none; ``train_limit`` keeps the first samples of the training split."""
    from pbtnas.tasks.classify.sources import load_source

    src = load_source(options)
    seed = options.data_seed or 0
    x, y, x_test, y_test = src.x, src.y, src.x_test, src.y_test
    if x_test is None and options.test_fraction > 0:
        x, x_test, y, y_test = hold_out(x, y, options.test_fraction, seed, "test", src.description)
    if src.x_val is not None and src.y_val is not None:
        x_val, y_val = src.x_val, src.y_val
    else:
        x, x_val, y, y_val = hold_out(x, y, options.val_fraction, seed, "validation", src.description)
    if options.train_limit is not None:
        x, y = x[: options.train_limit], y[: options.train_limit]
    x_tr, y_tr = _tensors(x, y)
    x_va, y_va = _tensors(x_val, y_val)
    test = _tensors(x_test, y_test) if x_test is not None and y_test is not None else (None, None)
    return ClassifyData(x_tr, y_tr, x_va, y_va, src.num_classes, test[0], test[1], src.class_names)


def load_digits_split(seed: int, val_fraction: float, train_limit: int | None = None) -> ClassifyData:
    """The digits as a run with these options trains on them (tests recompute a run's fitness with it)."""
    from pbtnas.tasks.classify.options import ClassifyOptions

    return load_data(ClassifyOptions(data="digits", data_seed=seed, val_fraction=val_fraction,
                                     train_limit=train_limit))

