"""Greedy model soups (paper §5.5) over a finished run's final population.

Ingredients: the members whose genome is identical to the best member's, best first. Starting from the best, each
next ingredient is tentatively averaged in (uniform average of the state dicts) and kept only if the soup's fitness
strictly improves. All candidates are evaluated with the same evaluation seed, including the best member alone
(the authors' code compares against a stored fitness from another draw).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from pbtnas.engine.statedict import renormalize_sn
from pbtnas.tasks.base import MemberState

__all__ = ["SoupResult", "average_states", "greedy_soup"]


def _average(dicts: Sequence[dict[str, Tensor]], target: str | None) -> dict[str, Tensor]:
    first = dicts[0]
    out: dict[str, Tensor] = {}
    for key, value in first.items():
        in_target = target is None or key.startswith(target + ".")
        if in_target and torch.is_floating_point(value) and all(key in d for d in dicts):
            out[key] = torch.stack([d[key].to(value.dtype) for d in dicts]).mean(0)
        else:  # integer buffers and keys outside the target stay the first (best) ingredient's
            out[key] = value.clone()
    renormalize_sn(out)  # an average of unit vectors is shorter than 1
    return out


def average_states(states: Sequence[MemberState], target: str | None = None) -> MemberState:
    """Uniform average of model and shadows (keys under ``target.`` only, if given); the first state's optimizer
    moments and metadata."""
    shadows = {
        name: _average([s["shadows"][name] for s in states if name in s["shadows"]], target)
        for name in states[0]["shadows"]
    }
    return {
        "model": _average([s["model"] for s in states], target),
        "shadows": shadows,
        "optim": states[0]["optim"],
        "meta": dict(states[0]["meta"]),
    }


@dataclass
class SoupResult:
    state: MemberState
    ingredients: list[int]  # indices into the candidates, best first
    fitness: float
    trials: list[tuple[int, float, bool]]  # (candidate index, soup fitness with it, kept)
    baseline: float


def greedy_soup(
    candidates: Sequence[MemberState], evaluate: Callable[[MemberState], float], target: str | None = None
) -> SoupResult:
    """``candidates`` sorted best first; ``evaluate`` returns the fitness of a state (higher is better)."""
    kept = [0]
    best = evaluate(candidates[0])
    baseline = best
    trials: list[tuple[int, float, bool]] = []
    current = candidates[0]
    for i in range(1, len(candidates)):
        trial_state = average_states([candidates[j] for j in kept + [i]], target)
        fitness = evaluate(trial_state)
        keep = fitness > best
        trials.append((i, fitness, keep))
        if keep:
            kept.append(i)
            best = fitness
            current = trial_state
    return SoupResult(state=current, ingredients=kept, fitness=best, trials=trials, baseline=baseline)
