"""What selection did in a run, measured from its population files: how many children were made, how many beat the
parent they were made from, how many steps a child needed to get back to its base parent's fitness, how many
survived to the end, and whether the final best is an initial member that was never replaced.

These are the numbers that say *why* an algorithm won or did not: if children are replaced before they recover,
mixing cannot compound; if the final best is always an initial member, selection never mattered.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from pbtnas.report.load import RunData

__all__ = ["ChildHistory", "Dynamics", "pooled", "selection_dynamics"]


@dataclass(frozen=True)
class ChildHistory:
    uid: int
    born_epoch: int
    base_uid: int
    base_fitness: float  # the base parent's fitness at the evaluation the child was made after
    fitness: tuple[tuple[int, float], ...]  # the child's own evaluations (epoch, fitness), in order
    survived: bool  # in the final population

    @property
    def recovery_steps(self) -> int | None:
        """Evaluations until the child's fitness first reaches its base parent's fitness at its birth (1 = at its
        first evaluation); None if it never did (replaced first, or the run ended)."""
        for k, (_epoch, f) in enumerate(self.fitness, start=1):
            if math.isfinite(f) and f >= self.base_fitness:
                return k
        return None


@dataclass(frozen=True)
class Dynamics:
    children: tuple[ChildHistory, ...]
    final_size: int
    final_best_uid: int | None
    final_best_is_initial: bool

    @property
    def made(self) -> int:
        return len(self.children)

    @property
    def evaluated(self) -> list[ChildHistory]:
        return [c for c in self.children if c.fitness]

    def recovered_within(self, steps: int) -> float:
        """Share of evaluated children that reached their base's fitness within ``steps`` evaluations."""
        ev = self.evaluated
        return sum(1 for c in ev if c.recovery_steps is not None and c.recovery_steps <= steps) / len(ev) if ev else math.nan

    @property
    def never_recovered(self) -> float:
        ev = self.evaluated
        return sum(1 for c in ev if c.recovery_steps is None) / len(ev) if ev else math.nan

    @property
    def median_recovery_steps(self) -> float:
        steps = [c.recovery_steps for c in self.evaluated if c.recovery_steps is not None]
        return float(statistics.median(steps)) if steps else math.nan

    @property
    def survived(self) -> float:
        """Share of the final population that are children (not initial members)."""
        return sum(1 for c in self.children if c.survived) / self.final_size if self.final_size else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {"children": self.made, "evaluated": len(self.evaluated),
                "recovered_within_1": self.recovered_within(1), "recovered_within_2": self.recovered_within(2),
                "never_recovered": self.never_recovered, "median_recovery_steps": self.median_recovery_steps,
                "final_children_share": self.survived, "final_best_is_initial": self.final_best_is_initial}


def selection_dynamics(run: RunData) -> Dynamics:
    fitness_at = {(e.epoch, e.uid): e.fitness for e in run.evaluations}
    history: dict[int, list[tuple[int, float]]] = {}
    for e in sorted(run.evaluations, key=lambda e: e.epoch):
        history.setdefault(e.uid, []).append((e.epoch, e.fitness))
    final = run.snapshots[-1]["members"] if run.snapshots else []
    final_uids = {int(m["uid"]) for m in final}
    children = []
    for epoch, ev in run.events():
        if "base_uid" not in ev:  # a restart of a failed member is not selection
            continue
        uid, base = int(ev["child_uid"]), int(ev["base_uid"])
        children.append(ChildHistory(
            uid=uid, born_epoch=epoch, base_uid=base, base_fitness=fitness_at.get((epoch, base), math.nan),
            fitness=tuple((ep, f) for ep, f in history.get(uid, []) if ep > epoch), survived=uid in final_uids))
    made = {int(ev["child_uid"]) for _epoch, ev in run.events()}
    best = int(run.final_members()[0]["uid"]) if final else None
    return Dynamics(tuple(children), len(final), best, best is not None and best not in made)


def pooled(runs: list[RunData]) -> dict[str, Any]:
    """The dynamics of several runs (the seeds of one algorithm) pooled over their children."""
    dyn = [selection_dynamics(r) for r in runs]
    merged = Dynamics(tuple(c for d in dyn for c in d.children), sum(d.final_size for d in dyn), None, False)
    out = merged.as_dict()
    out["final_best_is_initial"] = sum(d.final_best_is_initial for d in dyn)
    out["runs"] = len(dyn)
    return out
