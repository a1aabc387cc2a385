"""Parameter and FLOP budgets of a search (`--max-params`, `--max-flops`): every genome the engine proposes (an
initial member, a restart of random search, a child of mixing, a mutation) is within them.

How: rejection sampling, bounded. A proposal that fits is used as drawn, so a search whose proposals all fit is
the search without a budget, draw for draw. A proposal over budget is drawn again from its own random stream
(Purpose.BUDGET) up to MAX_TRIES times; then
- an initial or restarted member (a uniform draw) fails the run with the fraction of the space the budget keeps,
  measured on the draws made (the budget excludes almost the whole space: loosen it, or shrink the space);
- a child keeps its base's genome (mixing inherits nothing, a mutation becomes a copy): the base fits, since every
  member does.
Selection, mixing probabilities and shrink-perturb are untouched: the budget only decides which proposals exist.
Parameters are exact and cheap (the compiler's count); FLOPs are counted by building on the meta device, only for
proposals within the parameter budget.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np

from pbtnas.errors import UserError

MAX_TRIES = 200
P = TypeVar("P")  # a proposal: a genome, a mixing plan, a mutation plan


def countable(space: Any) -> bool:
    """The space counts its parameters and FLOPs (a compiled .nas space; a user's own space class may not)."""
    return callable(getattr(space, "parameters", None))


class BudgetError(UserError):
    """The budget leaves (almost) nothing of the space."""


class Budget:
    def __init__(self, space: Any, max_params: int | None, max_flops: int | None) -> None:
        self.space, self.max_params, self.max_flops = space, max_params, max_flops
        self._params: dict[tuple[int, ...], int] = {}
        self._flops: dict[tuple[int, ...], int | None] = {}
        if self.active and not self.countable:
            raise BudgetError("--max-params and --max-flops need a space compiled from a .nas file")
        if max_params is not None:
            low = space.parameter_range().low
            if low is not None and max_params < low:
                raise BudgetError(f"--max-params {max_params:,} is below the smallest network of space "
                                  f"`{space.name}` ({low:,} parameters): no genome fits")

    @property
    def countable(self) -> bool:
        return countable(self.space)

    def member_costs(self, genome: tuple[int, ...]) -> dict[str, int | None]:
        """What population files and the progress line carry for a member: {"params": ..., "flops": ...}."""
        if not self.countable:
            return {"params": None, "flops": None}
        return {"params": self.params(genome), "flops": self.flops(genome)}

    @property
    def active(self) -> bool:
        return self.max_params is not None or self.max_flops is not None

    def params(self, genome: tuple[int, ...]) -> int:
        key = tuple(genome)
        if key not in self._params:
            self._params[key] = self.space.parameters(key).total
        return self._params[key]

    def flops(self, genome: tuple[int, ...]) -> int | None:
        """Multiply-adds per sample; None where the space's inputs have a free size (refused under a FLOP budget)."""
        from pbtnas.compiler.flops import FlopsUnavailable, genome_flops

        key = tuple(genome)
        if key not in self._flops:
            try:
                self._flops[key] = genome_flops(self.space, key).total
            except FlopsUnavailable as err:
                if self.max_flops is not None:
                    raise BudgetError(f"--max-flops: {err}") from None
                self._flops[key] = None
        return self._flops[key]

    def fits(self, genome: tuple[int, ...]) -> bool:
        if self.max_params is not None and self.params(genome) > self.max_params:
            return False  # over the parameter budget: its FLOPs are not worth counting
        return self.max_flops is None or (self.flops(genome) or 0) <= self.max_flops

    def describe(self) -> str:
        parts = [f"--max-params {self.max_params:,}" if self.max_params is not None else "",
                 f"--max-flops {self.max_flops:,}" if self.max_flops is not None else ""]
        return " ".join(p for p in parts if p)

    def draw(self, first: P, redraw: Callable[[np.random.Generator], P], rng: np.random.Generator,
             fallback: P | None, what: str, genome_of: Callable[[P], tuple[int, ...]] = lambda p: p) -> P:
        """`first` if its genome fits; else up to MAX_TRIES draws of `redraw(rng)`; else `fallback` (which must
        fit), or BudgetError with the measured fraction when there is none."""
        if self.fits(genome_of(first)):
            return first
        for _ in range(MAX_TRIES):
            proposal = redraw(rng)
            if self.fits(genome_of(proposal)):
                return proposal
        if fallback is not None:
            return fallback
        raise BudgetError(f"the budget {self.describe()} excludes almost the whole space `{self.space.name}`: "
                          f"0 of {MAX_TRIES + 1} uniformly drawn genomes fit ({what}); measured fraction < "
                          f"{1 / (MAX_TRIES + 1):.2%}. Loosen the budget or narrow the space (`pbtnas compile` "
                          "prints its parameter range)")
