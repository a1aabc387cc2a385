"""The unsearched DrQ-v2 networks as a one-point "space": the baseline and the benchmarks' model.

Same interfaces as a compiled spaces/drqv2.nas model (``encoder``, ``actor``, ``critic``): the encoder takes
0..255 pixels [B, 9, 84, 84] (or a state vector), the actor returns the tanh mean, the critic (q1, q2). Layer
sizes follow the DrQ-v2 paper: four 3x3 convs with 32 channels (the first with stride 2, no padding, so 32x35x35),
trunk Linear -> LayerNorm -> tanh to ``feature_dim``, two hidden layers of ``hidden`` units in the actor and in
each Q network. Orthogonal init as DrQ-v2 and the authors' copy of its networks
(github.com/AwesomeLemon/PBT-NAS @5a27434, `models/rl/drqv2_nets_original.py`, `utils/rl.py` `weight_init_rl`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["ReferenceSpace", "build_reference"]


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.orthogonal_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        nn.init.orthogonal_(module.weight, nn.init.calculate_gain("relu"))
        nn.init.zeros_(module.bias)


class PixelEncoder(nn.Module):
    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, 32, 3, stride=2), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Conv2d(32, 32, 3, stride=1), nn.ReLU()]
        self.convnet = nn.Sequential(*layers)
        side = (size - 3) // 2 + 1 - 6
        self.repr_dim = 32 * side * side

    def forward(self, obs: Tensor) -> Tensor:
        return self.convnet(obs / 255.0 - 0.5).flatten(1)


class StateEncoder(nn.Module):
    """Proprioceptive input: the vector itself (the actor's and critic's trunks do the projection)."""

    def __init__(self, state_dim: int) -> None:
        super().__init__()
        self.repr_dim = state_dim

    def forward(self, obs: Tensor) -> Tensor:
        return obs


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out))


class Actor(nn.Module):
    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
        self.policy = _mlp(feature_dim, hidden, action_dim)

    def forward(self, features: Tensor) -> Tensor:
        return torch.tanh(self.policy(self.trunk(features)))


class Critic(nn.Module):
    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
        self.Q1 = _mlp(feature_dim + action_dim, hidden, 1)
        self.Q2 = _mlp(feature_dim + action_dim, hidden, 1)

    def forward(self, features: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat([self.trunk(features), action], dim=-1)
        return self.Q1(x), self.Q2(x)


class DrQV2Model(nn.Module):
    def __init__(self, encoder: nn.Module, action_dim: int, feature_dim: int, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        repr_dim = int(encoder.repr_dim)  # type: ignore[arg-type]
        self.actor = Actor(repr_dim, action_dim, feature_dim, hidden)
        self.critic = Critic(repr_dim, action_dim, feature_dim, hidden)
        self.apply(_init)


def build_reference(
    action_dim: int, *, obs: str = "pixels", state_dim: int = 0, feature_dim: int = 50, hidden: int = 1024,
    frame_stack: int = 3, size: int = 84, seed: int = 0,
) -> DrQV2Model:
    torch.manual_seed(seed)
    encoder = PixelEncoder(3 * frame_stack, size) if obs == "pixels" else StateEncoder(state_dim)
    return DrQV2Model(encoder, action_dim, feature_dim, hidden)


class ReferenceSpace:
    """A space with a single point, DrQ-v2's own networks; ``build(genome, seed)`` ignores the genome."""

    name = "drqv2-reference"

    def __init__(self, action_dim: int, *, obs: str = "pixels", state_dim: int = 0, feature_dim: int = 50,
                 hidden: int = 1024) -> None:
        self.obs, self.feature_dim, self.hidden = obs, feature_dim, hidden
        self.constants: dict[str, Any] = {"action_dim": action_dim}
        if obs == "state":
            self.constants["state_dim"] = state_dim

    def build(self, genome: Any, seed: int) -> nn.Module:
        return build_reference(
            int(self.constants["action_dim"]), obs=self.obs, state_dim=int(self.constants.get("state_dim", 0)),
            feature_dim=self.feature_dim, hidden=self.hidden, seed=seed,
        )
