"""What a person looks at: sample grids from a fixed latent batch, and the final FID / IS of a generator.

Plain functions over a generator ``nn.Module`` (``GanTask.final_generator`` gives one), so the CLI and the engine can
call them without a task: ``pbtnas sample`` -> :func:`sample`, ``pbtnas evaluate`` -> :func:`evaluate_generator`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.utils import save_image

from pbtnas.tasks.gan.data import to_uint8
from pbtnas.tasks.gan.metrics import FeatureNet, FrechetScorer, ReferenceStats, inception_score

__all__ = ["GanScores", "evaluate_generator", "fixed_latents", "generate", "grid_png", "parse_grid", "sample",
           "save_grid"]


def parse_grid(text: str) -> tuple[int, int]:
    """"8x8" -> (8, 8): rows x columns."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"grid {text!r}: expected ROWSxCOLS with positive integers, like 8x8")
    return int(m.group(1)), int(m.group(2))


def fixed_latents(n: int, latent_dim: int, seed: int = 0) -> Tensor:
    """The same N(0, I) batch for every member and step (torch generator seeded ``seed``, as the reference)."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def _device_of(module: nn.Module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def generate(generator: nn.Module, latents: Tensor, batch_size: int = 250) -> Tensor:
    """Generator outputs in [-1, 1] (on the CPU) for ``latents``, in eval mode, batch by batch."""
    was_training = generator.training
    generator.eval()
    device = _device_of(generator)
    try:
        parts = [generator(latents[i : i + batch_size].to(device)).float().cpu()
                 for i in range(0, latents.shape[0], batch_size)]
    finally:
        generator.train(was_training)
    return torch.cat(parts)


def grid_png(generator: nn.Module, latent_dim: int, grid: tuple[int, int] = (6, 6), seed: int = 0) -> bytes:
    """An image grid (rows x cols) from the fixed latent batch, as PNG bytes: a worker on another machine sends
    these to the driver instead of writing into a run directory it may not see."""
    rows, cols = grid
    images = generate(generator, fixed_latents(rows * cols, latent_dim, seed))
    buffer = io.BytesIO()
    save_image(images, buffer, format="png", nrow=cols, normalize=True, value_range=(-1.0, 1.0), padding=2)
    return buffer.getvalue()


def save_grid(generator: nn.Module, path: Path | str, latent_dim: int, grid: tuple[int, int] = (6, 6),
              seed: int = 0) -> Path:
    """An image grid (rows x cols) from the fixed latent batch; returns the path. Parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(grid_png(generator, latent_dim, grid, seed))
    return path


def sample(generator: nn.Module, latent_dim: int, out: Path | str = "samples.png", grid: str = "8x8",
           seed: int = 0) -> Path:
    """``pbtnas sample runs/<name> --grid 8x8 -o samples.png``: the grid of a (final, EMA) generator."""
    return save_grid(generator, out, latent_dim, parse_grid(grid), seed)


@dataclass(frozen=True)
class GanScores:
    """Final scores of one generator; names say which feature network produced them ("FID" or "digits-FID")."""

    fid: float
    fid_name: str
    is_mean: float
    is_std: float
    is_name: str
    n_images: int
    splits: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.fid_name}-{_short(self.n_images)} {self.fid:.3f}   "
                f"{self.is_name} {self.is_mean:.3f} ± {self.is_std:.3f} ({self.splits} splits)")


def _short(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def _latent_batches(n: int, latent_dim: int, batch_size: int, seed: int) -> Iterator[Tensor]:
    rng = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        yield torch.randn(min(batch_size, n - start), latent_dim, generator=rng)


@torch.no_grad()
def generated_features(generator: nn.Module, net: FeatureNet, latent_dim: int, n_images: int, seed: int = 0,
                       batch_size: int = 250, with_logits: bool = False) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Features (and logits) of ``n_images`` generated images, batch by batch, on the CPU."""
    was_training = generator.training
    generator.eval()
    device = _device_of(generator)
    net = net.to(device).eval()
    try:
        for z in _latent_batches(n_images, latent_dim, batch_size, seed):
            images = to_uint8(generator(z.to(device)))
            if images.shape[1] == 1:  # a grey generator (img_channels = 1): the feature nets take grey as RGB,
                images = images.expand(-1, 3, -1, -1)  # as the digits are stored, so its scores stay comparable
            features, logits = net(images)
            yield features.float().cpu(), (logits.float().cpu() if with_logits else None)
    finally:
        generator.train(was_training)


def fid_of_generator(generator: nn.Module, net: FeatureNet, reference: ReferenceStats, latent_dim: int,
                     n_images: int, seed: int = 0, batch_size: int = 250) -> float:
    """The Fréchet distance of ``n_images`` generated images to the reference statistics."""
    scorer = FrechetScorer(net.num_features)
    scorer.set_reference(reference)
    for features, _ in generated_features(generator, net, latent_dim, n_images, seed, batch_size):
        scorer.add_fake(features)
    return scorer.compute()


def evaluate_generator(generator: nn.Module, net: FeatureNet, reference: ReferenceStats, latent_dim: int,
                       n_images: int = 50_000, splits: int = 10, seed: int = 0, batch_size: int = 250) -> GanScores:
    """``pbtnas evaluate runs/<name> --fid-images N``: FID-N and IS (mean ± std over ``splits``) from one pass."""
    scorer = FrechetScorer(net.num_features)
    scorer.set_reference(reference)
    logits: list[Tensor] = []
    for features, batch_logits in generated_features(generator, net, latent_dim, n_images, seed, batch_size,
                                                     with_logits=True):
        scorer.add_fake(features)
        assert batch_logits is not None
        logits.append(batch_logits)
    is_mean, is_std = inception_score(torch.cat(logits), splits=splits, seed=seed)
    return GanScores(fid=scorer.compute(), fid_name=net.fid_name, is_mean=is_mean, is_std=is_std,
                     is_name=net.is_name, n_images=n_images, splits=splits)
