"""The AdversarialNAS training loop as the reference runs it (the authors' code, github.com/AwesomeLemon/PBT-NAS
at commit 5a27434, search/gan/train_gan.py).

Per iteration: one discriminator step on a real batch and an equally large fake batch (hinge loss, G detached);
every ``n_critic``-th iteration (index 0, 5, 10, ... within the epoch) one generator step on a batch twice as large,
followed by the EMA update of the generator's *parameters* (BatchNorm buffers are not averaged). One epoch is one
shuffled pass over the training images; the last batch may be smaller (drop_last off, as the reference).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pbtnas.tasks.gan.data import ImageData, epoch_batches, to_float

__all__ = ["EpochStats", "LoopConfig", "ema_update", "epoch_seed", "hinge_d_loss", "hinge_g_loss", "run_epochs"]


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """mean ReLU(1 - D(x)) + mean ReLU(1 + D(G(z)))."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    """-mean D(G(z))."""
    return -fake_logits.mean()


@torch.no_grad()
def ema_update(ema: dict[str, Tensor], named_params: list[tuple[str, nn.Parameter]], decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * param, for every named parameter."""
    for name, p in named_params:
        ema[name].lerp_(p.detach(), 1.0 - decay)


def epoch_seed(seed: int, epoch: int) -> int:
    """A distinct, reproducible RNG seed per (member seed, epoch): resuming at an epoch replays the same batches."""
    return (seed * 1_000_003 + epoch * 7919) % (2**63 - 1)


@dataclass(frozen=True)
class LoopConfig:
    latent_dim: int
    d_batch: int
    g_batch: int
    n_critic: int
    ema_decay: float


@dataclass
class EpochStats:
    """Sums over the epochs run; turned into means for the engine's metrics."""

    d_loss: float = 0.0
    g_loss: float = 0.0
    d_real: float = 0.0
    d_fake: float = 0.0
    d_steps: int = 0
    g_steps: int = 0
    images: int = 0
    seconds: float = 0.0
    nonfinite: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        d, g = max(self.d_steps, 1), max(self.g_steps, 1)
        return {
            "d_loss": self.d_loss / d,
            "g_loss": self.g_loss / g,
            "d_real": self.d_real / d,
            "d_fake": self.d_fake / d,
            "d_steps": float(self.d_steps),
            "g_steps": float(self.g_steps),
            "train_seconds": self.seconds,
            "images_per_s": self.images / self.seconds if self.seconds > 0 else 0.0,
        }


def run_epochs(
    model: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    ema: dict[str, Tensor],
    data: ImageData,
    cfg: LoopConfig,
    start_epoch: int,
    end_epoch: int,
    seed: int,
    device: torch.device,
) -> EpochStats:
    """Train ``model`` (submodules ``generator`` and ``discriminator``) for epochs [start_epoch, end_epoch).

    ``ema`` is keyed like the model ("generator.…") and updated in place. Every epoch reseeds its RNGs from
    (seed, epoch), so training [a, c) equals training [a, b) then [b, c). The caller should fork the global RNG. Non-finite losses are detected once per
    epoch (a per-iteration check would synchronise the GPU every step) and reported in ``EpochStats.nonfinite``;
    training stops at the end of such an epoch.
    """
    gen_net, dis_net = model.generator, model.discriminator
    g_params = [(f"generator.{n}", p) for n, p in gen_net.named_parameters() if p.requires_grad]
    d_params = [p for p in dis_net.parameters() if p.requires_grad]
    model.train()
    stats = EpochStats()
    started = time.perf_counter()
    for epoch in range(start_epoch, end_epoch):
        rng = torch.Generator().manual_seed(epoch_seed(seed, epoch))  # batches and latents
        torch.manual_seed(epoch_seed(seed, epoch) + 1)  # dropout (GanHard's projections) uses the global RNG
        sums = torch.zeros(4, dtype=torch.float64, device=device)  # d_loss, g_loss, d_real, d_fake
        for it, idx in enumerate(epoch_batches(len(data), cfg.d_batch, rng)):
            if idx.numel() < 2:  # a trailing batch of one: BatchNorm and the generator's squeeze need two
                continue
            real = to_float(data.images[idx]).to(device, non_blocking=True)
            z = torch.randn(real.shape[0], cfg.latent_dim, generator=rng).to(device, non_blocking=True)
            with torch.no_grad():
                fake = gen_net(z)
            # The two halves of the hinge loss are back-propagated one after the other, before the step: the
            # gradient is that of their sum, each half's graph is freed early, and a spectral norm whose power
            # iteration updates its buffers in place during the second forward cannot invalidate the first graph.
            opt_d.zero_grad(set_to_none=True)
            real_logits = dis_net(real)
            loss_real = F.relu(1.0 - real_logits).mean()
            loss_real.backward()
            fake_logits = dis_net(fake)
            loss_fake = F.relu(1.0 + fake_logits).mean()
            loss_fake.backward()
            opt_d.step()
            loss_d = loss_real.detach() + loss_fake.detach()
            sums[0] += loss_d.detach()
            sums[2] += real_logits.detach().mean()
            sums[3] += fake_logits.detach().mean()
            stats.d_steps += 1
            stats.images += real.shape[0]

            if it % cfg.n_critic == 0:
                z_g = torch.randn(cfg.g_batch, cfg.latent_dim, generator=rng).to(device, non_blocking=True)
                for p in d_params:  # D's weight gradients are not needed for the G step
                    p.requires_grad_(False)
                loss_g = hinge_g_loss(dis_net(gen_net(z_g)))
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                for p in d_params:
                    p.requires_grad_(True)
                ema_update(ema, g_params, cfg.ema_decay)
                sums[1] += loss_g.detach()
                stats.g_steps += 1
        values = sums.tolist()
        stats.d_loss += values[0]
        stats.g_loss += values[1]
        stats.d_real += values[2]
        stats.d_fake += values[3]
        bad = [name for name, v in zip(("d_loss", "g_loss", "d_real", "d_fake"), values) if not math.isfinite(v)]
        if bad:
            stats.nonfinite = [f"epoch {epoch}: non-finite {', '.join(bad)}"]
            break
    stats.seconds = time.perf_counter() - started
    return stats
