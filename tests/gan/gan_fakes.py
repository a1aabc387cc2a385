"""Test doubles shaped like a compiled GAN space: a model with ``generator`` and ``discriminator`` submodules,
keys under "generator." / "discriminator.", a latent input [B, latent] and [B, 1] logits. Tiny on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class FakeGenome:
    values: tuple[int, ...] = (0,)


class TinyGenerator(nn.Module):
    def __init__(self, latent_dim: int, width: int, img_size: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.bw = img_size // 4
        self.width = width
        self.proj = nn.Linear(latent_dim, width * self.bw * self.bw)
        self.drop = nn.Dropout(dropout)
        self.cell1 = nn.Sequential(nn.Upsample(scale_factor=2), nn.ReLU(), nn.Conv2d(width, width, kernel, padding=kernel // 2))
        self.cell2 = nn.Sequential(nn.Upsample(scale_factor=2), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1))
        self.to_rgb = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        h = self.drop(self.proj(z)).view(z.shape[0], self.width, self.bw, self.bw)
        return self.to_rgb(self.cell2(self.cell1(h)))


class TinyDiscriminator(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
        self.head = nn.Linear(width, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(torch.relu(self.block2(self.block1(x))).sum(dim=(2, 3)))


class TinyGan(nn.Module):
    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator


@dataclass
class FakeSpace:
    """What GanTask uses of a CompiledSpace: name, networks, constants, build(genome, seed).

    Gene 0 picks cell1's kernel (1 or 3): genomes with different values have different shapes under
    "generator.cell1.", as a real space's genes do.
    """

    width: int = 8
    latent_dim: int = 16
    img_size: int = 16
    dropout: float = 0.0
    name: str = "fake-gan"
    networks: tuple[str, ...] = ("generator", "discriminator")
    constants: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.constants = {"latent_dim": self.latent_dim, "img_size": self.img_size, "gf_dim": self.width,
                          "df_dim": self.width}

    def build(self, genome: FakeGenome, seed: int) -> nn.Module:
        kernel = (1, 3)[genome.values[0]]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return TinyGan(TinyGenerator(self.latent_dim, self.width, self.img_size, kernel, self.dropout),
                           TinyDiscriminator(self.width))
