"""Array files of your own: ``npz:PATH`` (numpy's .npz with arrays ``x`` [N, ...] of any rank and ``y`` [N], and
optionally ``x_val``/``y_val`` and ``x_test``/``y_test``) and ``csv:PATH`` (a header row, a label column named by
``label_column``, every other column a numeric feature).

uint8 arrays are images (scaled to [0, 1] per batch); anything else numeric is read as float32. Labels are
integers 0..K-1 (K = the largest label + 1); a csv's labels may also be names, numbered in sorted order.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pbtnas.tasks.dataset_files import DatasetError
from pbtnas.tasks.classify.data import DataInfo, SourceArrays

if TYPE_CHECKING:
    from pbtnas.tasks.classify.options import ClassifyOptions
    from pbtnas.tasks.classify.sources import Source

__all__ = ["info", "load", "read_csv", "read_npz"]

NPZ_FORMAT = ("a .npz file (numpy.savez) with arrays x [N, ...] (numbers, any rank) and y [N] (integer labels "
              "0..K-1), optionally x_val/y_val and x_test/y_test")
CSV_FORMAT = "a CSV file with a header row, the label column {label!r} and numeric feature columns"


def info(source: Source, options: ClassifyOptions) -> DataInfo:
    assert source.path is not None
    if source.kind == "npz":
        return npz_info(source.path)
    arrays = read_csv(source.path, options.label_column)
    return DataInfo(arrays.description, tuple(arrays.x.shape[1:]), arrays.num_classes)


def load(source: Source, options: ClassifyOptions) -> SourceArrays:
    assert source.path is not None
    return read_npz(source.path) if source.kind == "npz" else read_csv(source.path, options.label_column)


def _existing_file(path: Path, what: str, expected: str) -> None:
    if not path.exists():
        raise DatasetError(f"{what} {path} not found; expected {expected}")
    if not path.is_file():
        raise DatasetError(f"{what} {path} is not a file; expected {expected}")


def class_count(labels: list[np.ndarray], description: str) -> int:
    """K of integer labels 0..K-1 (several splits together); anything else is a DatasetError naming the data."""
    for y in labels:
        if y.size and (y.min() < 0):
            raise DatasetError(f"{description}: labels must be integers 0..K-1; found {int(y.min())}")
    k = max((int(y.max()) + 1 for y in labels if y.size), default=0)
    if k < 2:
        raise DatasetError(f"{description}: classification needs at least 2 classes; the labels have {k}")
    return k


# ------------------------------------------------------------------------------------------------------------ npz

PAIRS = (("x", "y"), ("x_val", "y_val"), ("x_test", "y_test"))


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    _existing_file(path, "npz file", NPZ_FORMAT)
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DatasetError(f"npz file {path} cannot be read ({err}); expected {NPZ_FORMAT}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # a bare .npy saved under a .npz name
        raise DatasetError(f"{path} holds a single array, not named arrays; expected {NPZ_FORMAT}")
    return npz


def _array_header(npz: np.lib.npyio.NpzFile, name: str, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array of the archive, from its .npy header (the data is not read)."""
    try:
        with npz.zip.open(f"{name}.npy") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise DatasetError(f"npz file {path}: array {name!r} cannot be read ({err}); expected {NPZ_FORMAT}") from None
    return tuple(int(d) for d in shape), np.dtype(dtype)


def _check_pairs(npz: np.lib.npyio.NpzFile, path: Path) -> list[tuple[str, str]]:
    names = set(npz.files)
    if "x" not in names or "y" not in names:
        raise DatasetError(f"npz file {path} has the arrays {sorted(names) or 'none'}; expected {NPZ_FORMAT}")
    pairs = []
    for xs, ys in PAIRS:
        if (xs in names) != (ys in names):
            raise DatasetError(f"npz file {path} has {xs if xs in names else ys} without "
                            f"{ys if xs in names else xs}; give both or neither")
        if xs in names:
            pairs.append((xs, ys))
    return pairs


def _checked_shapes(npz: np.lib.npyio.NpzFile, pairs: list[tuple[str, str]], path: Path) -> tuple[int, ...]:
    sample: tuple[int, ...] | None = None
    for xs, ys in pairs:
        (x_shape, x_dtype), (y_shape, y_dtype) = _array_header(npz, xs, path), _array_header(npz, ys, path)
        if len(x_shape) < 2:
            raise DatasetError(f"npz file {path}: {xs} has shape {list(x_shape)}; expected [N, ...] with at least one "
                            f"dimension per sample")
        if x_dtype.kind not in "biuf":
            raise DatasetError(f"npz file {path}: {xs} holds {x_dtype}; expected numbers")
        if len(y_shape) != 1 or y_shape[0] != x_shape[0]:
            raise DatasetError(f"npz file {path}: {ys} has shape {list(y_shape)} for {x_shape[0]} samples in {xs}; "
                            f"expected [{x_shape[0]}] (one label per sample)")
        if y_dtype.kind not in "iu":
            raise DatasetError(f"npz file {path}: {ys} holds {y_dtype}; expected integer labels 0..K-1")
        if sample is not None and x_shape[1:] != sample:
            raise DatasetError(f"npz file {path}: {xs} has samples of shape {list(x_shape[1:])} but x has "
                            f"{list(sample)}")
        sample = sample or x_shape[1:]
    assert sample is not None
    return sample


def npz_info(path: Path) -> DataInfo:
    with _open_npz(path) as npz:
        pairs = _check_pairs(npz, path)
        sample = _checked_shapes(npz, pairs, path)
        k = class_count([_read(npz, ys, path) for _, ys in pairs], f"npz file {path}")
    return DataInfo(f"npz file {path}", sample, k)


def _read(npz: np.lib.npyio.NpzFile, name: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(npz[name])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:  # a truncated or corrupt member
        raise DatasetError(f"npz file {path}: array {name!r} cannot be read ({err}); expected {NPZ_FORMAT}") from None


def read_npz(path: Path) -> SourceArrays:
    with _open_npz(path) as npz:
        pairs = _check_pairs(npz, path)
        _checked_shapes(npz, pairs, path)
        arrays = {name: _read(npz, name, path) for pair in pairs for name in pair}
    for xs, _ in pairs:
        x = arrays[xs]
        if x.dtype != np.uint8:
            x = arrays[xs] = x.astype(np.float32)
            if not np.isfinite(x).all():
                raise DatasetError(f"npz file {path}: {xs} has NaN or infinite values")
    k = class_count([arrays[ys] for _, ys in pairs], f"npz file {path}")
    return SourceArrays(f"npz file {path}", arrays["x"], arrays["y"].astype(np.int64), k,
                        arrays.get("x_val"), _labels(arrays.get("y_val")),
                        arrays.get("x_test"), _labels(arrays.get("y_test")))


def _labels(y: np.ndarray | None) -> np.ndarray | None:
    return None if y is None else y.astype(np.int64)


# ------------------------------------------------------------------------------------------------------------ csv


def read_csv(path: Path, label_column: str) -> SourceArrays:
    expected = CSV_FORMAT.format(label=label_column)
    _existing_file(path, "csv file", expected)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as err:
        raise DatasetError(f"csv file {path} is not UTF-8 text (byte {err.start}); expected {expected}") from None
    except (OSError, csv.Error) as err:
        raise DatasetError(f"csv file {path} cannot be read ({err}); expected {expected}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise DatasetError(f"csv file {path} has {'no header' if not rows else 'no data rows'}; expected {expected}")
    header = [h.strip() for h in rows[0]]
    if label_column not in header:
        raise DatasetError(f"csv file {path} has no column {label_column!r} (columns: {', '.join(header)}); name the "
                        f"label column with --task-option label_column=NAME")
    if len(header) < 2:
        raise DatasetError(f"csv file {path} has only the label column; expected {expected}")
    at = header.index(label_column)
    features = np.empty((len(rows) - 1, len(header) - 1), dtype=np.float32)
    names: list[str] = []
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(header):
            raise DatasetError(f"csv file {path}, line {line}: {len(row)} fields, the header has {len(header)}")
        names.append(row[at].strip())
        cells = row[:at] + row[at + 1:]
        try:
            features[i] = [float(c) for c in cells]
        except ValueError:
            bad = next(j for j, c in enumerate(cells) if not _is_number(c))
            column = header[bad if bad < at else bad + 1]
            raise DatasetError(f"csv file {path}, line {line}, column {column!r}: {cells[bad]!r} is not a number; "
                            f"expected {expected}") from None
    if not np.isfinite(features).all():
        raise DatasetError(f"csv file {path} has NaN or infinite feature values")
    labels, class_names = _csv_labels(names)
    k = class_count([labels], f"csv file {path}")
    return SourceArrays(f"csv file {path}", features, labels, k, class_names=class_names)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_labels(names: list[str]) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Labels that are all integers 0..K-1 stay numbers; names (or other numbers) are numbered in sorted order."""
    if all(n.isdigit() for n in names):
        return np.array([int(n) for n in names], dtype=np.int64), None
    classes = tuple(sorted(set(names)))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[n] for n in names], dtype=np.int64), classes
