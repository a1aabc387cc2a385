"""The DrQ-v2 agent around a searched model (``encoder``, ``actor``, ``critic`` submodules).

The networks come from the search space; this module owns only what DrQ-v2 adds around them: the exploration
noise, the augmentation, the n-step double-Q critic update, the actor update and the target critic.

Interfaces (from the space): ``encoder(obs [B, C, H, W] float in 0..255, or [B, D]) -> [B, repr]``,
``actor(features) -> action mean [B, A]`` (tanh inside, so in [-1, 1]), ``critic(features, action) -> (q1, q2)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pbtnas.tasks.base import MemberFailed
from pbtnas.tasks.optim_state import load_named_state, named_state
from pbtnas.tasks.rl.augment import random_shift

__all__ = ["Agent", "AgentConfig", "linear_stddev", "noisy_action"]

_EDGE = 1e-6  # sampled actions stay strictly inside (-1, 1), as DrQ-v2's truncated normal


@dataclass(frozen=True)
class AgentConfig:
    lr: float = 1e-4
    tau: float = 0.01
    update_every_steps: int = 2
    num_expl_steps: int = 2000  # uniform random actions while the global step is below this
    num_seed_steps: int = 2000  # no updates while the global step is below this (4000 frames / action repeat 2)
    stddev_init: float = 1.0
    stddev_final: float = 0.1
    stddev_duration: int = 500_000  # agent steps of the linear schedule
    stddev_clip: float = 0.3
    batch_size: int = 256
    aug_pad: int = 4  # 0 turns the random shift off (state observations)


def linear_stddev(step: int, init: float, final: float, duration: int) -> float:
    """DrQ-v2's ``linear(init, final, duration)`` exploration schedule, in agent steps."""
    mix = min(max(step / max(duration, 1), 0.0), 1.0)
    return (1.0 - mix) * init + mix * final


def noisy_action(mean: Tensor, std: float, clip: float | None, generator: torch.Generator | None = None) -> Tensor:
    """mean + N(0, std) noise (the noise clipped to ±clip when given), clamped into (-1, 1).

    The clamp passes gradients straight through, so the actor loss differentiates through the sampled action.
    """
    noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype) * std
    if clip is not None:
        noise = noise.clamp(-clip, clip)
    x = mean + noise
    clamped = x.clamp(-1.0 + _EDGE, 1.0 - _EDGE)
    return x - x.detach() + clamped.detach()


def _adam(module: nn.Module, lr: float) -> torch.optim.Adam | None:
    params = [p for p in module.parameters() if p.requires_grad]
    return torch.optim.Adam(params, lr=lr) if params else None


def _named(module: nn.Module, prefix: str) -> list[tuple[str, nn.Parameter]]:
    return [(f"{prefix}.{n}", p) for n, p in module.named_parameters()]


class Agent:
    """Holds one member's networks and optimizers while it trains; converts to and from ``MemberState``."""

    def __init__(self, model: nn.Module, config: AgentConfig, device: torch.device | str = "cpu") -> None:
        for part in ("encoder", "actor", "critic"):
            if not isinstance(getattr(model, part, None), nn.Module):
                raise ValueError(f"the RL task needs a space with an {part!r} network; this model has none")
        self.config = config
        self.device = torch.device(device)
        self.model = model.to(self.device).train()
        self.target = copy.deepcopy(model.critic).to(self.device).train()
        for p in self.target.parameters():
            p.requires_grad_(False)
        c = config
        # An encoder may have no parameters (a state space whose encoder passes the vector through).
        self.opt_encoder = _adam(model.encoder, c.lr)
        self.opt_actor = _adam(model.actor, c.lr)
        self.opt_critic = _adam(model.critic, c.lr)
        self.generator = torch.Generator(device="cpu")

    # -- state ----------------------------------------------------------------------------------------------
    def _optimizers(self) -> list[tuple[torch.optim.Optimizer, list[tuple[str, nn.Parameter]]]]:
        m = self.model
        pairs = [
            (self.opt_encoder, _named(m.encoder, "encoder")),
            (self.opt_actor, _named(m.actor, "actor")),
            (self.opt_critic, _named(m.critic, "critic")),
        ]
        return [(opt, named) for opt, named in pairs if opt is not None]

    def load(self, state: dict[str, Any]) -> None:
        """Weights, target critic and optimizer moments from a MemberState."""
        self.model.load_state_dict(state["model"])
        target = (state.get("shadows") or {}).get("target")
        if target:
            self.target.load_state_dict({k.removeprefix("critic."): v for k, v in target.items()})
        else:  # a fresh member: the target starts as a copy of the critic
            self.target.load_state_dict(self.model.critic.state_dict())
        optim = state.get("optim") or {}
        for opt, named in self._optimizers():
            load_named_state(opt, named, optim)

    def dump(self) -> tuple[dict[str, Tensor], dict[str, dict[str, Tensor]], dict[str, dict[str, Tensor]]]:
        """(model, shadows, optim) in the model's key namespace, on the CPU."""
        model = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        target = {f"critic.{k}": v.detach().cpu().clone() for k, v in self.target.state_dict().items()}
        optim: dict[str, dict[str, Tensor]] = {}
        for opt, named in self._optimizers():
            optim.update(named_state(opt, named))
        return model, {"target": target}, optim

    # -- acting -----------------------------------------------------------------------------------------------
    def _obs_tensor(self, obs: np.ndarray) -> Tensor:
        # batches from Ray's object store are read-only views; torch wants writable memory to wrap
        arr = obs if obs.flags.writeable else obs.copy()
        return torch.as_tensor(arr, device=self.device).float()

    @torch.no_grad()
    def act(self, obs: np.ndarray, step: int, *, eval_mode: bool, rng: np.random.Generator) -> np.ndarray:
        """The action for one observation: the mean when evaluating; uniform random while exploring; else noisy.

        The networks act in eval mode, also while training (as the reference's ``utils.eval_mode``): spectral
        norm then uses its vectors without a power iteration, which happens only in updates.
        """
        c = self.config
        was_training = self.model.training
        self.model.eval()
        try:
            features = self.model.encoder(self._obs_tensor(obs)[None])
            mean = self.model.actor(features)
        finally:
            self.model.train(was_training)
        if eval_mode:
            return mean[0].cpu().numpy().astype(np.float32)
        if step < c.num_expl_steps:
            return rng.uniform(-1.0, 1.0, size=mean.shape[1]).astype(np.float32)
        std = linear_stddev(step, c.stddev_init, c.stddev_final, c.stddev_duration)
        return noisy_action(mean, std, None, self.generator)[0].cpu().numpy().astype(np.float32)

    def should_update(self, step: int) -> bool:
        c = self.config
        return step >= c.num_seed_steps and step % c.update_every_steps == 0

    # -- learning ---------------------------------------------------------------------------------------------
    def _augment(self, x: Tensor) -> Tensor:
        if self.config.aug_pad > 0 and x.dim() == 4:
            return random_shift(x, self.config.aug_pad, self.generator)  # type: ignore[return-value]
        return x

    def update(self, batch: dict[str, np.ndarray], step: int) -> dict[str, float]:
        """One DrQ-v2 update: critic (and encoder) on the n-step double-Q target, actor on detached features,
        then the target critic moves by tau toward the critic."""
        c = self.config
        m = self.model
        obs = self._augment(self._obs_tensor(batch["obs"]))
        next_obs = self._augment(self._obs_tensor(batch["next_obs"]))
        action, reward, discount = (self._obs_tensor(batch[k]) for k in ("action", "reward", "discount"))
        std = linear_stddev(step, c.stddev_init, c.stddev_final, c.stddev_duration)

        # obs, then next_obs, as the reference (each training forward is one power iteration of the encoder's
        # spectral norm; sigma uses clones of the vectors, so the second forward leaves the first one's graph intact)
        features = m.encoder(obs)
        with torch.no_grad():
            next_features = m.encoder(next_obs)
        with torch.no_grad():
            next_action = noisy_action(m.actor(next_features), std, c.stddev_clip, self.generator)
            tq1, tq2 = self.target(next_features, next_action)
            target_q = reward + discount * torch.min(tq1, tq2)
        q1, q2 = m.critic(features, action)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        for opt in (self.opt_encoder, self.opt_critic):
            if opt is not None:
                opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        for opt in (self.opt_critic, self.opt_encoder):
            if opt is not None:
                opt.step()

        detached = features.detach()
        policy_action = noisy_action(m.actor(detached), std, c.stddev_clip, self.generator)
        pq1, pq2 = m.critic(detached, policy_action)
        actor_loss = -torch.min(pq1, pq2).mean()
        if self.opt_actor is not None:
            self.opt_actor.zero_grad(set_to_none=True)
        actor_loss.backward()
        if self.opt_actor is not None:
            self.opt_actor.step()
        # The actor loss also left gradients on the critic; they are cleared before the next critic step.

        self.soft_update()
        losses = {
            "critic_loss": critic_loss.item(),
            "actor_loss": actor_loss.item(),
            "q": q1.detach().mean().item(),
        }
        if not all(np.isfinite(v) for v in losses.values()):
            raise MemberFailed(f"DrQ-v2 update diverged at step {step}: {losses}")
        return losses

    @torch.no_grad()
    def soft_update(self) -> None:
        """target <- (1 - tau) target + tau critic, for parameters only (DrQ-v2's and the reference's
        ``soft_update_params``). Buffers stay the target's own: its spectral-norm vectors follow its own weights
        through the power iteration of its training-mode forwards in the critic update."""
        tau = self.config.tau
        for tp, p in zip(self.target.parameters(), self.model.critic.parameters(), strict=True):
            tp.lerp_(p, tau)
