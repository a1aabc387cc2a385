"""``imagefolder:PATH``: one folder of images per class (``PATH/cat/1.png``, ``PATH/dog/2.jpg``), the layout of
torchvision's ImageFolder; or ``PATH/train``, ``PATH/val`` and ``PATH/test`` each laid out so (``val`` and ``test``
optional). Classes are numbered in the sorted order of the folder names.

The first image (in sorted order) decides grey (1 channel) or colour (3 channels, RGB) and, unless ``image_size``
is given, the size that every image must have. The images are decoded once, by ``num_workers`` threads, and kept
in memory as uint8 [N, C, H, W].
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pbtnas.tasks.dataset_files import DatasetError
from pbtnas.tasks.classify.data import DataInfo, SourceArrays

if TYPE_CHECKING:
    from PIL import Image

    from pbtnas.tasks.classify.options import ClassifyOptions
    from pbtnas.tasks.classify.sources import Source

__all__ = ["info", "load"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
SPLITS = ("train", "val", "test")
LAYOUT = ("one folder per class holding its images (PATH/CLASS/IMAGE.png), or PATH/train, PATH/val and PATH/test "
          "laid out so")
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


@dataclass(frozen=True)
class Listing:
    classes: tuple[str, ...]
    splits: dict[str, list[tuple[Path, int]]]  # "train"/"val"/"test" -> (file, class index), sorted


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _list_split(folder: Path, classes: tuple[str, ...] | None) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    found = _class_folders(folder)
    if not found:
        raise DatasetError(f"image folder {folder} has no class folders; expected {LAYOUT}")
    names = tuple(p.name for p in found)
    if classes is None:
        classes = names
    unknown = [n for n in names if n not in classes]
    if unknown:
        raise DatasetError(f"image folder {folder} has classes {', '.join(unknown)} that the training folder lacks")
    items: list[tuple[Path, int]] = []
    for sub in found:
        files = _images(sub)
        if not files:
            raise DatasetError(f"class folder {sub} has no images (expected files ending in "
                            f"{', '.join(sorted(IMAGE_SUFFIXES))})")
        items += [(f, classes.index(sub.name)) for f in files]
    return classes, items


def list_folder(path: Path) -> Listing:
    if not path.is_dir():
        raise DatasetError(f"image folder {path} {'is not a folder' if path.exists() else 'not found'}; "
                        f"expected {LAYOUT}")
    subs = {p.name for p in _class_folders(path)}
    if "train" in subs and subs <= set(SPLITS):
        classes, train = _list_split(path / "train", None)
        splits = {"train": train}
        for name in ("val", "test"):
            if name in subs:
                splits[name] = _list_split(path / name, classes)[1]
    else:
        classes, train = _list_split(path, None)
        splits = {"train": train}
    if len(classes) < 2:
        raise DatasetError(f"image folder {path} has one class ({classes[0]}); classification needs at least 2")
    return Listing(classes, splits)


def _open(file: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(file)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:  # truncated, not an image, ...
        raise DatasetError(f"image {file} cannot be decoded ({err}); expected an image file (PNG, JPEG, ...) in "
                        f"{LAYOUT}") from None
    return image


def _layout_of(first: Path, options: ClassifyOptions) -> tuple[str, tuple[int, int]]:
    """PIL mode ("L" or "RGB") and (width, height) every image is converted to."""
    image = _open(first)
    mode = "L" if image.mode in GREY_MODES else "RGB"
    size = (options.image_size, options.image_size) if options.image_size else image.size
    return mode, size


def info(source: Source, options: ClassifyOptions) -> DataInfo:
    assert source.path is not None
    listing = list_folder(source.path)
    mode, (width, height) = _layout_of(listing.splits["train"][0][0], options)
    return DataInfo(f"image folder {source.path}", (1 if mode == "L" else 3, height, width), len(listing.classes))


def _decode(file: Path, mode: str, size: tuple[int, int], resize: bool) -> np.ndarray:
    image = _open(file).convert(mode)
    if resize and image.size != size:
        from PIL import Image

        image = image.resize(size, Image.Resampling.BILINEAR)
    if image.size != size:
        raise DatasetError(f"image {file} is {image.size[0]}x{image.size[1]} but the first image is "
                        f"{size[0]}x{size[1]}; resize them all with --task-option image_size=N")
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load(source: Source, options: ClassifyOptions) -> SourceArrays:
    assert source.path is not None
    listing = list_folder(source.path)
    mode, size = _layout_of(listing.splits["train"][0][0], options)
    resize = options.image_size is not None
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with ThreadPoolExecutor(max_workers=max(1, options.num_workers)) as pool:
        for name, items in listing.splits.items():
            images = list(pool.map(lambda item: _decode(item[0], mode, size, resize), items))
            arrays[name] = (np.stack(images), np.array([c for _, c in items], dtype=np.int64))
    val, test = arrays.get("val", (None, None)), arrays.get("test", (None, None))
    return SourceArrays(f"image folder {source.path}", *arrays["train"], len(listing.classes),
                        val[0], val[1], test[0], test[1], listing.classes)
