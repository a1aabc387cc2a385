"""Selection and replacement counts, ranking, failed members, stratified initial genomes, the step schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbtnas.engine.population import Member, stratified_genomes
from pbtnas.engine.schedule import StepRule, plan_steps
from pbtnas.engine.selection import AllMembersFailed, select, selection_counts


def members_with(fitness: list[float], failed: set[int] = frozenset()) -> list[Member]:
    return [
        Member(slot=i, uid=i, genome=(0,), lineage=[[i]], fitness=[(2, f)], status="failed" if i in failed else "ok")
        for i, f in enumerate(fitness)
    ]


@pytest.mark.parametrize(
    ("n", "parents", "replaced"), [(4, 2, 1), (6, 2, 1), (8, 2, 2), (12, 3, 3), (24, 6, 6), (2, 1, 1), (3, 2, 1)]
)
def test_counts(n: int, parents: int, replaced: int) -> None:
    counts = selection_counts(n)
    assert (counts.n_parents, counts.n_replaced) == (parents, replaced)


@pytest.mark.parametrize("n", [4, 6, 8, 12, 24])
def test_select_replaces_exactly_the_worst_and_breeds_from_the_best(n: int) -> None:
    rng = np.random.default_rng(n)
    fitness = rng.permutation(n).astype(float).tolist()  # distinct values
    sel = select(members_with(fitness))
    counts = selection_counts(n)
    order = sorted(range(n), key=lambda i: -fitness[i])
    assert sel.parents == tuple(order[: counts.n_parents])
    assert sel.replaced == tuple(sorted(order[n - counts.n_replaced :]))
    assert not set(sel.parents) & set(sel.replaced)


def test_ties_are_broken_by_slot() -> None:
    sel = select(members_with([1.0, 1.0, 1.0, 1.0]))
    assert sel.parents == (0, 1) and sel.replaced == (3,)


def test_every_failed_member_is_replaced_even_beyond_the_quota() -> None:
    fitness = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 7.0, 6.0]  # quota for N = 8 is 2
    sel = select(members_with(fitness, failed={0, 1, 6}))
    assert sel.replaced == (0, 1, 6)  # the three failed ones, more than the quota of 2
    assert sel.parents == (7, 2)
    sel = select(members_with(fitness, failed={6}))
    assert sel.replaced == (5, 6)  # one failed + the worst healthy one fill the quota


def test_non_finite_fitness_counts_as_failed() -> None:
    sel = select(members_with([1.0, math.nan, 3.0, 2.0, 0.5, 0.7]))
    assert sel.replaced == (1,)


def test_all_failed_raises() -> None:
    with pytest.raises(AllMembersFailed):
        select(members_with([1.0, 2.0, 3.0, 4.0], failed={0, 1, 2, 3}))


@pytest.mark.parametrize("n", [4, 6, 8, 12, 24])
def test_stratified_genomes_cover_every_option(n: int) -> None:
    counts = (2, 3, 5, 7, 8)
    genomes = stratified_genomes(counts, n, np.random.default_rng(0))
    assert len(genomes) == n
    for k, m in enumerate(counts):
        column = [g[k] for g in genomes]
        for option in range(m):
            assert column.count(option) >= n // m
        assert all(0 <= v < m for v in column)
    assert genomes == stratified_genomes(counts, n, np.random.default_rng(0))
    assert genomes != stratified_genomes(counts, n, np.random.default_rng(1))


def test_plain_schedule() -> None:
    steps = plan_steps(20, 2)
    assert [(s.start, s.end) for s in steps] == [(e, e + 2) for e in range(0, 20, 2)]
    assert [s.last for s in steps] == [False] * 9 + [True]
    assert [(s.start, s.end) for s in plan_steps(5, 2)] == [(0, 2), (2, 4), (4, 5)]


def test_rl_schedule_doubles_the_step_in_the_first_half_and_mixes_22_times() -> None:
    steps = plan_steps(300, 10, (StepRule(until_epoch=150, step=20),))
    ends = [s.end for s in steps]
    assert ends[:8] == [20, 40, 60, 80, 100, 120, 140, 150]
    assert ends[8:] == list(range(160, 301, 10))
    assert sum(not s.last for s in steps) == 22  # mixings, as in the reference (§4.2)
