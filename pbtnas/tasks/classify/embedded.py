"""The data sets that need no file: scikit-learn's 8x8 digits (bundled with the package) and MNIST-1D (Greydanus
2020), generated procedurally from the templates of the ``mnist1d`` package (its download and pickle-cache paths are
never used)."""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING

import numpy as np

from pbtnas.tasks.classify.data import DataInfo, SourceArrays

if TYPE_CHECKING:
    from pbtnas.tasks.classify.options import ClassifyOptions
    from pbtnas.tasks.classify.sources import Source

__all__ = ["info", "load"]

# MNIST-1D: 40 positions of one channel; 5,000 sequences, of which the package's own split keeps 4,000 for training
INFO = {
    "digits": DataInfo("scikit-learn's digits", (1, 8, 8), 10),
    "mnist1d": DataInfo("MNIST-1D", (1, 40), 10),
}


def info(source: Source, options: ClassifyOptions) -> DataInfo:
    return INFO[source.kind]


def load(source: Source, options: ClassifyOptions) -> SourceArrays:
    return load_digits() if source.kind == "digits" else load_mnist1d()


def load_digits() -> SourceArrays:
    # scikit-learn loads here, in the worker that trains, not in every process that imports the task
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    return SourceArrays(INFO["digits"].description, x, digits.target.astype(np.int64), 10)


@functools.cache
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # generated once per process (2 s): `pbtnas.test_accuracy` opens a run's task once per member it measures
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds Python's and numpy's global generators: keep the worker's own streams as they were
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return (np.asarray(d["x"], dtype=np.float32)[:, None, :], np.asarray(d["y"], dtype=np.int64),
            np.asarray(d["x_test"], dtype=np.float32)[:, None, :], np.asarray(d["y_test"], dtype=np.int64))


def load_mnist1d() -> SourceArrays:
    """MNIST-1D with the package's default arguments (seed 42): the published data set, 4,000 / 1,000 split."""
    x, y, x_test, y_test = (a.copy() for a in _mnist1d_arrays())  # the tensors share these arrays' memory
    return SourceArrays(INFO["mnist1d"].description, x, y, 10, x_test=x_test, y_test=y_test)
