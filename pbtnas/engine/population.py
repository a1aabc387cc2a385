"""Population members as the driver sees them (genomes, fitness, lineage), and the stratified initial genomes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Member", "MemberStatus", "json_float", "latest_fitness", "origin_shares", "stratified_genomes"]

MemberStatus = Literal["ok", "failed"]


@dataclass
class Member:
    """One slot of the population.

    ``uid`` is unique over the whole run (initial members are 0..N-1, children count on from N); ``slot`` is the
    position in the population. ``lineage[g]`` lists the uids gene g's layer passed through, the first being the
    initial member it came from (paper, Appendix A).
    """

    slot: int
    uid: int
    genome: tuple[int, ...]
    lineage: list[list[int]]
    fitness: list[tuple[int, float]] = field(default_factory=list)  # (epoch, fitness) after each step
    status: MemberStatus = "ok"
    born_epoch: int = 0
    origin: dict[str, Any] = field(default_factory=dict)  # how it was made: {"kind": "init"|"mix"|..., ...}
    error: str | None = None

    @property
    def latest(self) -> float:
        return latest_fitness(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "uid": self.uid,
            "genome": list(self.genome),
            "lineage": [list(x) for x in self.lineage],
            "fitness": [[e, json_float(f)] for e, f in self.fitness],
            "status": self.status,
            "born_epoch": self.born_epoch,
            "origin": self.origin,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Member:
        return cls(
            slot=int(d["slot"]),
            uid=int(d["uid"]),
            genome=tuple(int(v) for v in d["genome"]),
            lineage=[[int(u) for u in x] for x in d["lineage"]],
            fitness=[(int(e), _float_from_json(f)) for e, f in d["fitness"]],
            status=d["status"],
            born_epoch=int(d["born_epoch"]),
            origin=dict(d["origin"]),
            error=d.get("error"),
        )


def latest_fitness(member: Member) -> float:
    """The fitness of the last step; failed members and members never evaluated rank below everyone."""
    if member.status == "failed" or not member.fitness:
        return -math.inf
    value = member.fitness[-1][1]
    return value if math.isfinite(value) else -math.inf


def json_float(x: float) -> float | str:
    # JSON has no infinities or NaN; keep them readable and exact.
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _float_from_json(x: float | str) -> float:
    return float(x)


def origin_shares(lineages: Iterable[Sequence[Sequence[int]]]) -> dict[int, float]:
    """Share of (member, gene) pairs whose layer came from each initial member (paper, Appendix A), by origin uid.

    ``lineages`` holds one member's ``lineage`` per entry; ``lineage[g][0]`` is the initial member gene g's layer
    came from. Every gene counts, weightless ones too, so the shares sum to 1. The engine writes these to
    lineage.json and the report recomputes them from the population files with this same function.
    """
    counts = Counter(int(path[0]) for lineage in lineages for path in lineage)
    total = sum(counts.values())
    return {uid: counts[uid] / total for uid in sorted(counts)} if total else {}


def stratified_genomes(option_counts: tuple[int, ...], n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """N genomes stratified per gene (as the authors' code initialises its population).

    For gene k with m options: N // m copies of every option, topped up to N with uniformly random options,
    shuffled; member i takes entry i. Every option appears at least N // m times.
    """
    columns: list[np.ndarray] = []
    for m in option_counts:
        pool = np.repeat(np.arange(m), n // m)
        extra = rng.integers(0, m, size=n - len(pool))
        column = np.concatenate([pool, extra])
        rng.shuffle(column)
        columns.append(column)
    return [tuple(int(col[i]) for col in columns) for i in range(n)]
