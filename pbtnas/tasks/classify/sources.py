"""``--data`` -> its source family: each family module offers ``info`` (shape and classes, for the driver's
preflight, reading as little as it can) and ``load`` (every sample, in the worker that trains).

- embedded (no files): ``digits`` (scikit-learn's 8x8 digits, the default), ``mnist1d`` (generated from the
  templates of the mnist1d package);
- torchvision's on-disk formats under ``--data-root``: ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``,
  ``svhn`` (``--download`` fetches a missing one);
- files of your own: ``npz:PATH``, ``csv:PATH``, ``imagefolder:PATH``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from pbtnas.tasks.dataset_files import DatasetError
from pbtnas.tasks.classify.data import DataInfo, SourceArrays
from pbtnas.tasks.classify.options import FILE_KINDS

if TYPE_CHECKING:
    from pbtnas.tasks.classify.options import ClassifyOptions

__all__ = ["NAMED_SOURCES", "Source", "load_source", "parse_source", "source_info"]

NAMED_SOURCES: dict[str, str] = {
    "digits": "embedded", "mnist1d": "embedded",
    "mnist": "torchvision_sets", "fashion_mnist": "torchvision_sets", "cifar10": "torchvision_sets",
    "cifar100": "torchvision_sets", "svhn": "torchvision_sets",
}
FAMILY_OF_FILE_KIND: dict[str, str] = {"npz": "arrays", "csv": "arrays", "imagefolder": "imagefolder"}


@dataclass(frozen=True)
class Source:
    kind: str  # a NAMED_SOURCES name or a FILE_KINDS kind
    path: Path | None  # the file or folder of a FILE_KINDS source
    family: str  # the module of pbtnas.tasks.classify that reads it


def parse_source(data: str) -> Source:
    """``"cifar10"`` or ``"npz:train.npz"`` -> the source; anything else is a DatasetError listing the forms."""
    if data in NAMED_SOURCES:
        return Source(data, None, NAMED_SOURCES[data])
    kind, sep, path = data.partition(":")
    if sep and kind in FILE_KINDS:
        if not path.strip():
            raise DatasetError(f"--data {data}: give the path after '{kind}:' (e.g. {kind}:data/train.{kind})")
        return Source(kind, Path(path).expanduser(), FAMILY_OF_FILE_KIND[kind])
    raise DatasetError(f"unknown classify data {data!r}; give one of {', '.join(NAMED_SOURCES)}, or "
                    f"{', '.join(k + ':PATH' for k in FILE_KINDS)}")


def _family(source: Source) -> ModuleType:
    # the families import torch, torchvision or scikit-learn: only the one asked for is imported
    if source.family == "embedded":
        from pbtnas.tasks.classify import embedded as module
    elif source.family == "torchvision_sets":
        from pbtnas.tasks.classify import torchvision_sets as module
    elif source.family == "arrays":
        from pbtnas.tasks.classify import arrays as module
    else:
        from pbtnas.tasks.classify import imagefolder as module
    return module


def source_info(options: ClassifyOptions) -> DataInfo:
    source = parse_source(options.data)
    info: DataInfo = _family(source).info(source, options)
    return info


def load_source(options: ClassifyOptions) -> SourceArrays:
    source = parse_source(options.data)
    arrays: SourceArrays = _family(source).load(source, options)
    return arrays
