"""Small data files in the real formats each classify source reads: idx files (MNIST, Fashion-MNIST), CIFAR's python
batches, SVHN's .mat files, PNG folders, npz and csv. Labels are balanced so that stratified splits exist."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np


def labels(n: int, classes: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % classes


def images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    """The idx format of MNIST: magic (0, 0, type 0x08 = ubyte, dims), big-endian dimensions, the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, folder: str, n_train: int = 40, n_test: int = 20) -> None:
    raw = root / folder / "raw"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images(n, (28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels(n, 10))


def write_cifar(root: Path, classes: int, n_per_batch: int = 20) -> None:
    folder = root / ("cifar-10-batches-py" if classes == 10 else "cifar-100-python")
    folder.mkdir(parents=True)
    key = "labels" if classes == 10 else "fine_labels"

    def batch(name: str, seed: int) -> None:
        data = images(n_per_batch, (3072,), seed)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, key: labels(n_per_batch, classes).tolist()}, f)

    if classes == 10:
        for i in range(1, 6):
            batch(f"data_batch_{i}", i)
        batch("test_batch", 9)
        meta = {"label_names": [f"c{i}" for i in range(10)]}
        meta_name = "batches.meta"
    else:
        batch("train", 1)
        batch("test", 2)
        meta = {"fine_label_names": [f"c{i}" for i in range(100)]}
        meta_name = "meta"
    with open(folder / meta_name, "wb") as f:
        pickle.dump(meta, f)


def write_svhn(root: Path, n_train: int = 40, n_test: int = 20) -> None:
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    for name, n in (("train_32x32.mat", n_train), ("test_32x32.mat", n_test)):
        x = images(n, (32, 32, 3)).transpose(1, 2, 3, 0)  # SVHN's [32, 32, 3, N]
        y = (labels(n, 10) + 9) % 10 + 1  # 1..10, 10 for the digit 0
        savemat(root / name, {"X": x, "y": y[:, None].astype(np.uint8)})


def write_png_folder(root: Path, classes: int = 3, per_class: int = 8, size: int = 8, mode: str = "RGB") -> None:
    from PIL import Image

    channels = 3 if mode == "RGB" else 1
    for c in range(classes):
        folder = root / f"class_{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = images(1, (size, size, channels), seed=c * 100 + i)[0]
            Image.fromarray(pixels if channels == 3 else pixels[..., 0], mode).save(folder / f"{i}.png")
