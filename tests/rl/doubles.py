"""Small stand-ins for a compiled DrQ-v2 space: a model with ``encoder``, ``actor`` and ``critic`` networks and the
interfaces of spaces/drqv2.nas (obs 0..255 in, tanh action mean out, (q1, q2) from the critic)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class PixelEncoder(nn.Module):
    def __init__(self, channels: int = 9, size: int = 84) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3, stride=4)
        self.repr_dim = 4 * ((size - 3) // 4 + 1) ** 2

    def forward(self, obs: Tensor) -> Tensor:
        return torch.relu(self.conv(obs / 255.0 - 0.5)).flatten(1)


class StateEncoder(nn.Module):
    def __init__(self, state_dim: int) -> None:
        super().__init__()
        self.repr_dim = state_dim
        self.norm = nn.LayerNorm(state_dim)

    def forward(self, obs: Tensor) -> Tensor:
        return self.norm(obs)


class Actor(nn.Module):
    def __init__(self, repr_dim: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(repr_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, action_dim))

    def forward(self, features: Tensor) -> Tensor:
        return torch.tanh(self.net(features))


class Critic(nn.Module):
    def __init__(self, repr_dim: int, action_dim: int, hidden: int) -> None:
        super().__init__()

        def q() -> nn.Module:
            return nn.Sequential(nn.Linear(repr_dim + action_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, 1))

        self.q1, self.q2 = q(), q()

    def forward(self, features: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat([features, action], dim=-1)
        return self.q1(x), self.q2(x)


class Model(nn.Module):
    def __init__(self, encoder: nn.Module, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.actor = Actor(encoder.repr_dim, action_dim, hidden)  # type: ignore[arg-type]
        self.critic = Critic(encoder.repr_dim, action_dim, hidden)  # type: ignore[arg-type]


class DoubleSpace:
    """``build(genome, seed)`` like CompiledSpace; the genome is ignored (one architecture)."""

    def __init__(self, action_dim: int, *, obs: str = "pixels", state_dim: int = 5, hidden: int = 64) -> None:
        self.obs, self.state_dim, self.hidden = obs, state_dim, hidden
        self.constants: dict[str, Any] = {"action_dim": action_dim}
        if obs == "state":
            self.constants["state_dim"] = state_dim

    def build(self, genome: Any, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        enc = PixelEncoder() if self.obs == "pixels" else StateEncoder(self.state_dim)
        return Model(enc, int(self.constants["action_dim"]), self.hidden)
