"""Truncation selection of PBT-NAS (paper Algorithm 1 and the authors' code, AwesomeLemon/PBT-NAS at commit 5a27434).

The rule for any population size N and fraction tau (0.25 by default):

* k = floor(N * tau) (computed exactly, so 0.25 * 24 is 6, not 5.999...).
* Replaced: the max(1, k) worst members (failed members rank below everyone); if more members than that
  failed, every failed member.
* Parents: the max(2, k) best healthy members that are not replaced. Two distinct parents are always possible
  when N >= 3; with N = 2 the worst member is replaced by a child of the best one mixed with itself.

So N = 4 replaces 1 from 2 parents, N = 6 replaces 1 from 2, N = 8 replaces 2 from 2, N = 12 replaces 3 from 3,
N = 24 replaces 6 from 6. Ranking is by the latest fitness, higher first; ties are broken by the lower slot, so
selection is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pbtnas.engine.population import Member, latest_fitness
from pbtnas.errors import UserError

__all__ = ["AllMembersFailed", "Selection", "SelectionCounts", "rank", "rank_key", "select", "selection_counts"]


class AllMembersFailed(UserError, RuntimeError):
    """No healthy member is left to breed from."""


@dataclass(frozen=True)
class SelectionCounts:
    n_parents: int
    n_replaced: int


@dataclass(frozen=True)
class Selection:
    parents: tuple[int, ...]  # slots, best first
    replaced: tuple[int, ...]  # slots, increasing


def selection_counts(n: int, tau: float = 0.25) -> SelectionCounts:
    if n < 2:
        return SelectionCounts(n_parents=n, n_replaced=0)
    k = int(Fraction(n) * Fraction(str(tau)))  # exact floor for decimal tau
    return SelectionCounts(n_parents=min(max(2, k), n - max(1, k)) if n > 2 else 1, n_replaced=max(1, k))


def rank_key(fitness: float, slot: int) -> tuple[float, int]:
    """The sort key of a member with this latest fitness (-inf if failed): best first, ties by the lower slot."""
    return (-fitness, slot)


def rank(members: list[Member]) -> list[Member]:
    """Members best first (latest fitness, failed last, ties by slot)."""
    return sorted(members, key=lambda m: rank_key(latest_fitness(m), m.slot))


def select(members: list[Member], tau: float = 0.25) -> Selection:
    counts = selection_counts(len(members), tau)
    if counts.n_replaced == 0:
        return Selection(parents=(), replaced=())
    ranked = rank(members)
    failed = [m for m in ranked if m.status == "failed" or latest_fitness(m) == float("-inf")]
    n_replaced = max(counts.n_replaced, len(failed))
    replaced = ranked[len(ranked) - n_replaced :]
    survivors = [m for m in ranked[: len(ranked) - n_replaced]]
    if not survivors:
        raise AllMembersFailed("every member of the population failed; nothing left to breed from")
    parents = survivors[: counts.n_parents]
    return Selection(parents=tuple(m.slot for m in parents), replaced=tuple(sorted(m.slot for m in replaced)))
