"""torchvision's classification data sets, read from ``--data-root`` in torchvision's own on-disk formats by
torchvision's readers (``--download`` lets torchvision fetch a missing one):

- ``mnist``, ``fashion_mnist``: ``ROOT/MNIST/raw`` and ``ROOT/FashionMNIST/raw`` with the four idx files
  (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte);
- ``cifar10``, ``cifar100``: ``ROOT/cifar-10-batches-py`` and ``ROOT/cifar-100-python`` (the python batches);
- ``svhn``: ``ROOT/train_32x32.mat`` and ``ROOT/test_32x32.mat``.

Each has its own train/test split; the validation split is held out of the training images. CIFAR's files are
pickles that torchvision unpickles: with ``verify_checksums`` on (the default) their MD5 sums are checked first, as
for SVHN's .mat files (docs/security.md).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pbtnas.tasks.classify.data import DataInfo, SourceArrays
from pbtnas.tasks.dataset_files import DatasetError, check_files, data_root, present_only

if TYPE_CHECKING:
    from pbtnas.tasks.classify.options import ClassifyOptions
    from pbtnas.tasks.classify.sources import Source

__all__ = ["DATASETS", "info", "load"]


@dataclass(frozen=True)
class Dataset:
    title: str
    sample_shape: tuple[int, ...]
    num_classes: int
    format: str  # what the files hold, for the message about a malformed one


MNIST_FORMAT = "idx files (big-endian uint8 images [N, 28, 28] and labels [N] with idx headers)"
CIFAR_FORMAT = "torchvision's python batches (pickled dicts with 'data' uint8 [N, 3072] and the labels)"
DATASETS: dict[str, Dataset] = {
    "mnist": Dataset("MNIST", (1, 28, 28), 10, MNIST_FORMAT),
    "fashion_mnist": Dataset("Fashion-MNIST", (1, 28, 28), 10, MNIST_FORMAT),
    "cifar10": Dataset("CIFAR-10", (3, 32, 32), 10, CIFAR_FORMAT),
    "cifar100": Dataset("CIFAR-100", (3, 32, 32), 100, CIFAR_FORMAT),
    "svhn": Dataset("SVHN", (3, 32, 32), 10, "MATLAB .mat files with 'X' uint8 [32, 32, 3, N] and 'y' [N, 1]"),
}


def _reader(kind: str) -> tuple[type, type, Path, list[tuple[str, str]]]:
    """torchvision's class, the reader of files checked here first (its sums not checked again), the folder it
    reads under the root, and the files (name, md5) it needs."""
    from torchvision import datasets as tv

    if kind in ("mnist", "fashion_mnist"):
        cls = tv.MNIST if kind == "mnist" else tv.FashionMNIST
        # the idx files themselves, as torchvision's _check_exists wants them (no sums: they are not pickles)
        files = [(os.path.splitext(os.path.basename(url))[0], "") for url, _ in cls.resources]
        return cls, cls, Path(cls.__name__) / "raw", files
    if kind in ("cifar10", "cifar100"):
        base = tv.CIFAR10 if kind == "cifar10" else tv.CIFAR100
        files = [(n, m) for n, m in base.train_list + base.test_list] + [(base.meta["filename"], base.meta["md5"])]
        # the sums are checked by check_files (naming each file); torchvision then only reads
        reader = type(f"_{base.__name__}Files", (base,), {"train_list": present_only(base.train_list),
                                                          "test_list": present_only(base.test_list),
                                                          "meta": {**base.meta, "md5": None}})
        return base, reader, Path(base.base_folder), files
    files = [(tv.SVHN.split_list[s][1], tv.SVHN.split_list[s][2]) for s in ("train", "test")]
    reader = type("_SVHNFiles", (tv.SVHN,), {"split_list": {s: [u, f, None] for s, (u, f, _) in
                                                            tv.SVHN.split_list.items()}})
    return tv.SVHN, reader, Path("."), files


def _check(kind: str, options: ClassifyOptions) -> tuple[type, Path]:
    """The reader to use and the root, after checking the files (unless torchvision is to download them)."""
    dataset = DATASETS[kind]
    root = data_root(options.data_root, dataset.title)
    torchvision_class, reader, folder, files = _reader(kind)
    if options.download:  # torchvision's own class checks the downloaded files' sums
        return (torchvision_class if options.verify_checksums else reader), root
    check_files(root / folder, files, dataset.title, options.verify_checksums and all(md5 for _, md5 in files))
    return reader, root


def info(source: Source, options: ClassifyOptions) -> DataInfo:
    _check(source.kind, options)
    d = DATASETS[source.kind]
    return DataInfo(f"{d.title} in {options.data_root}", d.sample_shape, d.num_classes)


def _split(reader: type, root: Path, kind: str, train: bool, download: bool) -> tuple[np.ndarray, np.ndarray]:
    if kind == "svhn":
        ds: Any = reader(str(root), split="train" if train else "test", download=download)
        return np.asarray(ds.data), np.asarray(ds.labels, dtype=np.int64)
    ds = reader(str(root), train=train, download=download)
    data = np.asarray(ds.data)
    if kind in ("mnist", "fashion_mnist"):
        data = data[:, None]  # [N, 28, 28] -> [N, 1, 28, 28]
    else:
        data = data.transpose(0, 3, 1, 2)  # CIFAR's [N, 32, 32, 3] -> [N, 3, 32, 32]
    return data, np.asarray(ds.targets, dtype=np.int64)


def load(source: Source, options: ClassifyOptions) -> SourceArrays:
    kind, d = source.kind, DATASETS[source.kind]
    reader, root = _check(kind, options)
    where = f"{d.title} in {root}"
    try:
        x, y = _split(reader, root, kind, True, options.download)
        x_test, y_test = _split(reader, root, kind, False, False)
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, UnicodeDecodeError, AttributeError,
            IndexError, OSError, NotImplementedError, RuntimeError) as err:
        # RuntimeError: torch cannot view a truncated idx file, or torchvision's own "not found or corrupted"
        raise DatasetError(f"{where} is malformed ({type(err).__name__}: {err}); expected {d.format}") from None
    for name, xs, ys in (("training", x, y), ("test", x_test, y_test)):
        if xs.dtype != np.uint8 or tuple(xs.shape[1:]) != d.sample_shape or len(ys) != len(xs):
            raise DatasetError(f"{where}: the {name} images decode to {xs.dtype} {list(xs.shape)} with {len(ys)} "
                               f"labels; expected uint8 [N, {', '.join(map(str, d.sample_shape))}], one label each")
        if len(ys) and (ys.min() < 0 or ys.max() >= d.num_classes):
            raise DatasetError(f"{where}: {name} labels outside 0..{d.num_classes - 1}")
    return SourceArrays(where, x, y, d.num_classes, x_test=x_test, y_test=y_test)
