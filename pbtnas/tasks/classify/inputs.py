"""What a batch goes through before the network: uint8 images to [0, 1], per-channel normalisation (statistics of
the training split, or given), and for training the standard image augmentation (random crop with zero padding,
horizontal flip), on whole batches so that the per-batch work stays a few tensor operations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from pbtnas.tasks.classify.options import ClassifyOptions
from pbtnas.tasks.dataset_files import DatasetError

__all__ = ["InputPipeline", "augment_batch", "channel_statistics"]


def as_float(x: Tensor) -> Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def channel_statistics(x: Tensor, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std of samples [N, C, ...] (chunked: CIFAR as float would be 600 MB)."""
    dims = [0] + list(range(2, x.dim()))
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    count = 0
    for start in range(0, len(x), chunk):
        part = as_float(x[start : start + chunk]).double()
        total += part.sum(dims)
        squares += (part * part).sum(dims)
        count += part.numel() // x.shape[1]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt().clamp_min(1e-8)
    return mean.float(), std.float()


def augment_batch(x: Tensor, padding: int, flip: bool, generator: torch.Generator) -> Tensor:
    """Random crop of [B, C, H, W] images from a zero padding of ``padding`` pixels, and flips of half the images."""
    b, _, h, w = x.shape
    if padding > 0:
        padded = F.pad(x, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # [B, 1, H, 1]
        cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # [B, 1, 1, W]
        x = padded[torch.arange(b)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]
    if flip:
        flipped = torch.rand(b, generator=generator) < 0.5
        x = torch.where(flipped[:, None, None, None], x.flip(-1), x)
    return x


@dataclass(frozen=True)
class InputPipeline:
    mean: Tensor | None  # [C], or None: no normalisation
    std: Tensor | None
    augment: bool
    padding: int
    flip: bool

    @classmethod
    def of(cls, options: ClassifyOptions, x_train: Tensor) -> InputPipeline:
        image = x_train.dim() == 4
        if options.augment and not image:
            raise DatasetError(f"augment needs images [N, C, H, W]; these samples are "
                               f"{list(x_train.shape[1:])}: set augment=false")
        mean = std = None
        if options.mean is not None and options.std is not None:
            mean, std = torch.tensor(options.mean), torch.tensor(options.std)
        elif options.normalize:
            if x_train.dim() < 2:
                raise DatasetError("normalize needs samples with a channel dimension")
            mean, std = channel_statistics(x_train)
        if mean is not None and x_train.dim() >= 2 and len(mean) != x_train.shape[1]:
            raise DatasetError(f"mean/std have {len(mean)} values but the samples have {x_train.shape[1]} "
                               f"channels (samples {list(x_train.shape[1:])})")
        return cls(mean, std, options.augment, options.crop_padding, options.flip)

    def __call__(self, x: Tensor, training: bool, generator: torch.Generator | None = None) -> Tensor:
        x = as_float(x)
        if self.mean is not None and self.std is not None:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            x = (x - self.mean.to(x.device).view(shape)) / self.std.to(x.device).view(shape)
        if training and self.augment:
            assert generator is not None
            x = augment_batch(x, self.padding, self.flip, generator)
        return x
