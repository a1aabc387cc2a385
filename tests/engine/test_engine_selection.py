"""Selection and replacement counts, ranking, failed members, stratified initial genomes, layer-origin shares,
the step schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbtnas.engine.driver import lineage_shares
from pbtnas.engine.population import Member, origin_shares, stratified_genomes
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


# (N, option counts) with every gene having at most N options, so that N // m >= 1 and the bound below binds: a
# sampler that missed an option (or drew the column uniformly) would fail it.
COVERED = [(4, (2, 3, 4)), (6, (2, 3, 5, 6)), (8, (2, 3, 5, 7, 8)), (12, (2, 3, 5, 7, 8)), (24, (2, 3, 5, 7, 8))]


@pytest.mark.parametrize(("n", "counts"), COVERED)
def test_stratified_genomes_cover_every_option(n: int, counts: tuple[int, ...]) -> None:
    genomes = stratified_genomes(counts, n, np.random.default_rng(0))
    assert len(genomes) == n
    for k, m in enumerate(counts):
        assert n // m >= 1  # the case this test is about: see test_more_options_than_members for m > N
        column = [g[k] for g in genomes]
        assert all(0 <= v < m for v in column)
        for option in range(m):
            assert column.count(option) >= n // m, (n, m, option, column)
        # the stratified part is exact: at most N % m entries are topped up, so no option exceeds N // m + N % m
        assert max(column.count(option) for option in range(m)) <= n // m + n % m, (n, m, column)
    assert genomes == stratified_genomes(counts, n, np.random.default_rng(0))
    assert genomes != stratified_genomes(counts, n, np.random.default_rng(1))


def test_more_options_than_members() -> None:
    """With m > N no stratum holds a full copy of every option (N // m == 0): the authors' rule then draws every
    entry uniformly (as the authors' initialisation does). Over many seeds every option turns up, and each
    column keeps its values in range."""
    n, counts = 4, (7, 9)
    seen: list[set[int]] = [set(), set()]
    for seed in range(60):
        genomes = stratified_genomes(counts, n, np.random.default_rng(seed))
        assert len(genomes) == n
        for k, m in enumerate(counts):
            column = [g[k] for g in genomes]
            assert all(0 <= v < m for v in column)
            seen[k].update(column)
    assert seen == [set(range(7)), set(range(9))]


def test_origin_shares_by_hand() -> None:
    """Three members, two genes; a layer's origin is the first uid of its path, whatever it passed through since.
    The six (member, gene) origins are 0, 0 | 1, 0 (via 3) | 0 (via 4), 2: origin 0 holds 4 of 6, 1 and 2 one each."""
    lineages = [[[0], [0]], [[1], [0, 3]], [[0, 4], [2]]]
    assert origin_shares(lineages) == pytest.approx({0: 4 / 6, 1: 1 / 6, 2: 1 / 6})
    assert list(origin_shares(lineages)) == [0, 1, 2]  # by origin uid
    assert origin_shares([]) == {}
    members = [Member(slot=i, uid=10 + i, genome=(0, 0), lineage=lin) for i, lin in enumerate(lineages)]
    assert lineage_shares(members) == pytest.approx({"0": 4 / 6, "1": 1 / 6, "2": 1 / 6})  # lineage.json's form


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
    assert sum(not s.last for s in steps) == 22  # mixings, as in the authors' code
