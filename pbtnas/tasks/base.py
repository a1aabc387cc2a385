"""The Task protocol between the engine and a task (docs/contracts.md, "Member state" and "Task").

A task instance lives inside a long-lived Ray actor: it holds the data (loaded once), never a member. Members
travel as ``MemberState`` dicts of plain tensors plus JSON-able metadata, so they go through Ray's object store
and ``torch.save``/``torch.load(weights_only=True)`` without pickling any object of this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict, runtime_checkable

import pydantic
from torch import Tensor, nn

if TYPE_CHECKING:  # the engine imports tasks, tasks import the compiler only for types
    from pbtnas.compiler import CompiledSpace, Genome

__all__ = ["MemberFailed", "MemberState", "Task", "empty_state"]


class MemberState(TypedDict):
    """One member's complete training state.

    model:   the space model's state dict, ``{key: Tensor}``.
    shadows: copies in the model's key namespace, e.g. ``{"ema": {...}}`` (EMA generator) or
             ``{"target": {...}}`` (RL target critic). Mixing copies inherited keys from the donor's shadow.
    optim:   per-parameter optimizer moments keyed by *parameter name* (the model key), e.g.
             ``{key: {"exp_avg": T, "exp_avg_sq": T, "step": T}}``. Mixing drops inherited keys.
    meta:    JSON-able task metadata (epochs done, global step, counters).
    """

    model: dict[str, Tensor]
    shadows: dict[str, dict[str, Tensor]]
    optim: dict[str, dict[str, Tensor]]
    meta: dict[str, Any]


def empty_state(model: dict[str, Tensor]) -> MemberState:
    """A state with only model weights: no shadows, fresh optimizer moments, no metadata."""
    return {"model": dict(model), "shadows": {}, "optim": {}, "meta": {}}


class MemberFailed(Exception):
    """Raised by a task when a member cannot continue (diverged, NaN loss, ...).

    The engine marks the member failed (fitness -inf), logs the message and replaces the member at the next
    selection; the run goes on.
    """


@runtime_checkable
class Task(Protocol):
    """What the engine needs from a task. Fitness is always *higher is better*."""

    name: ClassVar[str]
    Options: ClassVar[type[pydantic.BaseModel]]
    # Optional (default True): a member's training reads nothing that other members' training writes (everything is
    # in its MemberState). The engine then starts a member's next step as soon as it is sure to survive the
    # selection, while the step's last members still train; a task with shared side state (RL replay stores) says
    # False and keeps every step synchronous.
    # Optional: ``preflight(options, space=None)``, a static method the driver calls before Ray starts and before
    # the run directory exists (missing data files, the space against the data); a ValueError or OSError it raises
    # is the user's message (docs/contracts.md).
    # Optional (default ()): ``shadows_in_model``, the shadows that random search's shrink-perturb and SEARL's weight
    # mutation treat as part of the model (the RL target critic; docs/contracts.md).

    def __init__(self, space: CompiledSpace, options: pydantic.BaseModel, workdir: Path | None) -> None: ...

    def new_member(self, genome: Genome, seed: int) -> MemberState:
        """A fresh network of ``genome`` (``space.build(genome, seed)``) and fresh optimizer state."""
        ...

    def train(
        self, state: MemberState, genome: Genome, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        """Train epochs ``[start_epoch, end_epoch)``; return the new state and metrics (losses, ...)."""
        ...

    def evaluate(self, state: MemberState, genome: Genome, seed: int) -> float:
        """Fitness of the member, higher is better (accuracy, -FID, mean return)."""
        ...

    def final_module(self, state: MemberState, genome: Genome) -> nn.Module:
        """The network to use after the search (EMA weights in place where the task keeps them)."""
        ...
