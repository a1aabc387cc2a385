"""Training images for the GAN task, held in memory as one uint8 tensor [N, 3, S, S].

- ``cifar10``: the 50,000 training images, read by torchvision from ``<root>/cifar-10-batches-py`` (its python
  pickle batches; torchvision's reader is the accepted way to open them: they are the dataset's official format).
- ``stl10``: ``train+unlabeled`` (105,000 images), read by torchvision from ``<root>/stl10_binary`` (.bin files).
- ``digits``: the 1,797 8x8 digits scikit-learn ships (no download), the embedded default.

Every dataset is resized to the space's image size once, at load time, with antialiased bilinear interpolation
(the reference resizes per item with PIL's bilinear ``Resize``; both are antialiased bilinear filters), and kept
as uint8 so that CIFAR-10 takes 150 MB and STL-10 at 48 px 725 MB. Batches are converted to float in [-1, 1].
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.datasets import CIFAR10, STL10

from pbtnas.tasks.dataset_files import DatasetError, check_files, data_root, present_only

__all__ = [
    "DatasetError",
    "ImageData",
    "epoch_batches",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_stl10",
    "resize_uint8",
    "to_float",
    "to_uint8",
]


@dataclass(frozen=True)
class ImageData:
    """Images as uint8 [N, C, S, S] (C = 3, or 1 for a grey view: ``grey()``) and labels as int64 [N] (-1 for
    unlabeled images)."""

    name: str
    images: Tensor
    labels: Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] not in (1, 3):
            raise ValueError(f"images must be uint8 [N, 3, H, W] or [N, 1, H, W], got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("one label per image is required")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def num_classes(self) -> int:
        return int(self.labels.max().item()) + 1 if len(self) else 0

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    def is_grey(self) -> bool:
        """Every image has equal channels (the digits: one grey value repeated in R, G and B)."""
        return self.channels == 1 or bool((self.images == self.images[:, :1]).all())

    def grey(self) -> ImageData:
        """The one-channel view of grey images, for a space whose networks see 1 channel (``img_channels = 1``)."""
        if not self.is_grey():
            raise DatasetError(f"{self.name} has colour images: a 1-channel space (img_channels = 1) needs grey "
                               f"data such as digits; use img_channels = 3 for {self.name}")
        return self if self.channels == 1 else ImageData(self.name, self.images[:, :1], self.labels)

    def head(self, n: int | None) -> ImageData:
        """The first ``n`` images (all when ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        return ImageData(self.name, self.images[:n], self.labels[:n])


def to_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (ToTensor then Normalize(0.5, 0.5), as the reference does)."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: Tensor) -> Tensor:
    """Generator output in [-1, 1] -> uint8, as the reference feeds FID (x * 127.5 + 127.5, clamped; rounded)."""
    return images.detach().mul(127.5).add_(127.5).clamp_(0, 255).round_().to(torch.uint8)


def resize_uint8(images: Tensor, size: int, chunk: int = 2048) -> Tensor:
    """Resize uint8 [N, 3, H, W] images to ``size`` x ``size``, in chunks so STL-10 does not need 10 GB of floats."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images.contiguous()
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        part = images[start : start + chunk].float()
        resized = F.interpolate(part, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[start : start + chunk] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Index batches of one shuffled pass over ``n`` items; the last batch may be smaller (drop_last off)."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


# ---------------------------------------------------------------------------------------------------- digits


def load_digits(image_size: int) -> ImageData:
    """scikit-learn's 8x8 digits (values 0..16), scaled to ``image_size``, grey repeated into 3 channels."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    grey = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32)).unsqueeze(1)  # [N, 1, 8, 8] in 0..16
    grey = grey * (255.0 / 16.0)
    if image_size != 8:
        grey = F.interpolate(grey, size=(image_size, image_size), mode="bilinear", align_corners=False,
                             antialias=image_size < 8)
    images = grey.round_().clamp_(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    return ImageData("digits", images.contiguous(), labels)


# ---------------------------------------------------------------------------------- torchvision on-disk formats


class _CIFAR10Files(CIFAR10):
    """torchvision's CIFAR-10 reader whose MD5 checks only test that the files exist.

    :func:`~pbtnas.tasks.dataset_files.check_files` checks presence (and the sums, when asked) first, with a message that names each file;
    torchvision would only say "Dataset not found or corrupted". The reading itself is torchvision's.
    """

    train_list = present_only(CIFAR10.train_list)
    test_list = present_only(CIFAR10.test_list)
    meta = {**CIFAR10.meta, "md5": None}


class _STL10Files(STL10):
    """torchvision's STL-10 reader whose MD5 checks only test that the files exist (see :class:`_CIFAR10Files`)."""

    train_list = present_only(STL10.train_list)
    test_list = present_only(STL10.test_list)


def _expected_cifar10() -> list[tuple[str, str]]:
    return [(n, m) for n, m in CIFAR10.train_list + CIFAR10.test_list] + [(CIFAR10.meta["filename"],
                                                                            CIFAR10.meta["md5"])]


def _expected_stl10() -> list[tuple[str, str]]:
    # torchvision requires the test files too, even for the train+unlabeled split.
    return [(n, m) for n, m in STL10.train_list + STL10.test_list]


def check_dataset_files(name: str, root: Path | str | None, verify: bool = True) -> None:
    """Raise DatasetError naming the expected files when CIFAR-10 / STL-10 are not in `root` (no loading)."""
    if name == "cifar10":
        check_files(data_root(root, "CIFAR-10") / CIFAR10.base_folder, _expected_cifar10(), "CIFAR-10", verify)
    elif name == "stl10":
        check_files(data_root(root, "STL-10") / STL10.base_folder, _expected_stl10(), "STL-10", verify)


def load_cifar10(root: Path | str | None, image_size: int = 32, download: bool = False,
                 verify_checksums: bool = True) -> ImageData:
    """The 50,000 CIFAR-10 training images from ``<root>/cifar-10-batches-py``, resized to ``image_size``."""
    base = data_root(root, "cifar10")
    if not download:
        check_files(base / CIFAR10.base_folder, _expected_cifar10(), "CIFAR-10", verify_checksums)
    reader = CIFAR10 if (download and verify_checksums) else _CIFAR10Files
    try:
        ds = reader(str(base), train=True, download=download)
        data = np.asarray(ds.data)
        if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (32, 32, 3):
            raise ValueError(f"images decode to {data.dtype} {data.shape}, expected uint8 [N, 32, 32, 3]")
        labels = np.asarray(ds.targets, dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, UnicodeDecodeError,
            AttributeError, IndexError) as err:
        raise DatasetError(
            f"CIFAR-10 in {base / CIFAR10.base_folder} is malformed: {type(err).__name__}: {err}. Expected "
            f"torchvision's python format (data_batch_1..5, test_batch: pickled dicts with 'data' uint8 [N, 3072] "
            f"and 'labels'; batches.meta with 'label_names')."
        ) from err
    except RuntimeError as err:  # torchvision's own "not found or corrupted" (after a download attempt)
        raise DatasetError(f"CIFAR-10 in {base}: {err}") from err
    images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
    return ImageData("cifar10", resize_uint8(images, image_size), torch.from_numpy(labels))


def load_stl10(root: Path | str | None, image_size: int = 48, download: bool = False,
               verify_checksums: bool = True) -> ImageData:
    """STL-10 ``train+unlabeled`` (105,000 images at 96 px) from ``<root>/stl10_binary``, resized to ``image_size``."""
    base = data_root(root, "stl10")
    if not download:
        check_files(base / STL10.base_folder, _expected_stl10(), "STL-10", verify_checksums)
    reader = STL10 if (download and verify_checksums) else _STL10Files
    try:
        ds = reader(str(base), split="train+unlabeled", download=download)
        data = np.asarray(ds.data)
        labels = np.asarray(ds.labels, dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (3, 96, 96):
            raise ValueError(f"images decode to {data.dtype} {data.shape}, expected uint8 [N, 3, 96, 96]")
        if labels.shape[0] != data.shape[0]:
            raise ValueError(f"{data.shape[0]} images but {labels.shape[0]} labels (train_X.bin vs train_y.bin)")
    except (ValueError, OSError, IndexError) as err:
        raise DatasetError(
            f"STL-10 in {base / STL10.base_folder} is malformed: {err}. Expected torchvision's binary format "
            f"(train_X.bin / unlabeled_X.bin / test_X.bin: raw uint8 images of 3x96x96, column-major; train_y.bin / "
            f"test_y.bin: one uint8 label 1..10 per image)."
        ) from err
    except RuntimeError as err:
        raise DatasetError(f"STL-10 in {base}: {err}") from err
    images = torch.from_numpy(np.ascontiguousarray(data))
    resized = resize_uint8(images, image_size)
    del images, data, ds  # the 96 px copy is 2.9 GB; let it go before training starts
    labels = np.where((labels >= 0) & (labels < 10), labels, -1)  # unlabeled (and out-of-range) -> -1
    return ImageData("stl10", resized, torch.from_numpy(labels))


def load_dataset(name: str, image_size: int, root: Path | str | None = None, download: bool = False,
                 verify_checksums: bool = True, max_images: int | None = None) -> ImageData:
    """Load ``name`` (digits, cifar10, stl10) at ``image_size``; the first ``max_images`` only when given."""
    if name == "digits":
        data = load_digits(image_size)
    elif name == "cifar10":
        data = load_cifar10(root, image_size, download, verify_checksums)
    elif name == "stl10":
        data = load_stl10(root, image_size, download, verify_checksums)
    else:
        raise DatasetError(f"unknown GAN dataset {name!r}; known: digits, cifar10, stl10")
    return data.head(max_images)
