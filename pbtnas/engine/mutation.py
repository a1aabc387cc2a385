"""The SEARL-like mutation baseline (paper §4): the child copies the fitter of two parents drawn as
for mixing, then one of three mutations, picked uniformly: none (PBT's plain exploit), a SEARL weight mutation, or
an architecture mutation of one gene to another value whose layers get fresh weights."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from pbtnas.tasks.base import MemberState

__all__ = ["MutationKind", "MutationPlan", "draw_mutation", "searl_mutate_state", "searl_weight_mutation"]

MutationKind = Literal["copy", "weights", "architecture"]
KINDS: tuple[MutationKind, ...] = ("copy", "weights", "architecture")


@dataclass(frozen=True)
class MutationPlan:
    kind: MutationKind
    gene: int | None  # the mutated gene (architecture mutation)
    child_genome: tuple[int, ...]


def draw_mutation(rng: np.random.Generator, option_counts: tuple[int, ...], base: tuple[int, ...]) -> MutationPlan:
    kind = KINDS[int(rng.integers(len(KINDS)))]
    if kind != "architecture":
        return MutationPlan(kind, None, base)
    mutable = [i for i, m in enumerate(option_counts) if m > 1]
    if not mutable:  # a space with a single point: nothing to mutate
        return MutationPlan("copy", None, base)
    gene = mutable[int(rng.integers(len(mutable)))]
    others = [v for v in range(option_counts[gene]) if v != base[gene]]
    child = list(base)
    child[gene] = others[int(rng.integers(len(others)))]
    return MutationPlan(kind, gene, tuple(child))


def searl_weight_mutation(model: dict[str, Tensor], seed: int) -> dict[str, Tensor]:
    """SEARL's weight mutation, as the authors' code applies it.

    Eligible: floating tensors with at least 2 dims whose key does not contain "norm". Pick k ~ U{1..#eligible}
    of them; in each, with n = size of the first dim, draw m ~ U{0..ceil(0.1 n) - 1} and mask every element with
    probability m / n. Masked elements: 5% w += N(0, |10 w|), 5% w = N(0, 1), 90% w += N(0, |0.1 w|). Clamp to
    +-1e6. Returns a new dict; unmutated tensors are shared, not copied.
    """
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    eligible = sorted(k for k, t in model.items() if t.is_floating_point() and t.dim() >= 2 and "norm" not in k)
    out = dict(model)
    if not eligible:
        return out
    count = int(rng.integers(1, len(eligible) + 1))
    for key in sorted(rng.choice(eligible, size=count, replace=False).tolist()):
        w = model[key].clone()
        n = w.shape[0]
        m = int(rng.integers(0, max(1, math.ceil(0.1 * n))))
        mask = torch.rand(w.shape, generator=gen) < (m / n)
        kind = torch.rand(w.shape, generator=gen)
        noise = torch.randn(w.shape, generator=gen, dtype=w.dtype)
        super_mut = mask & (kind < 0.05)
        reset = mask & (kind >= 0.05) & (kind < 0.10)
        normal = mask & (kind >= 0.10)
        w = torch.where(super_mut, w + noise * (10 * w).abs(), w)
        w = torch.where(reset, noise, w)
        w = torch.where(normal, w + noise * (0.1 * w).abs(), w)
        out[key] = w.clamp(-1e6, 1e6)
    return out


def searl_mutate_state(state: MemberState, seed: int, shadows: Iterable[str] = ()) -> MemberState:
    """The weight mutation of a member: its model and the ``shadows`` the task keeps as part of the model (the RL
    target critic: the reference's checkpoint holds it in the model's state dict, so its mutation draws from the
    target's tensors too; the GAN's EMA generator is kept apart there and is not mutated). One draw over all of
    them, as one state dict; a shadow's tensors are labelled ``name/key``."""
    names = [n for n in shadows if n in state["shadows"]]
    flat = dict(state["model"])
    for name in names:
        flat.update({f"{name}/{k}": v for k, v in state["shadows"][name].items()})
    out = searl_weight_mutation(flat, seed)
    new_shadows = dict(state["shadows"])
    for name in names:
        new_shadows[name] = {k: out[f"{name}/{k}"] for k in state["shadows"][name]}
    return {**state, "model": {k: out[k] for k in state["model"]}, "shadows": new_shadows}
