"""guards.simplify skips the pairs it already knows do not merge: the same result, order included, as the plain
algorithm (restart from the first pair after every merge), on random DNFs and shapes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pbtnas.compiler.guards import Alt, Cube, _merge, simplify

N_OPTIONS = {0: 2, 1: 3, 2: 2, 3: 4}


def reference(alts, n_options):
    work = list(dict.fromkeys(alts))
    changed = True
    while changed and len(work) > 1:
        changed = False
        for i in range(len(work)):
            for j in range(i + 1, len(work)):
                a, b = work[i], work[j]
                if a.shape != b.shape:
                    continue
                merged = _merge(a.guard, b.guard, n_options)
                if merged is not None:
                    work[i] = Alt(a.shape, merged)
                    del work[j]
                    changed = True
                    break
            if changed:
                break
    return tuple(work)


def cube(draw_items):
    return Cube(frozenset((g, frozenset(opts)) for g, opts in draw_items.items()))


CUBES = st.dictionaries(st.sampled_from(sorted(N_OPTIONS)), st.just(None), max_size=3).flatmap(
    lambda genes: st.fixed_dictionaries({g: st.sets(st.integers(0, N_OPTIONS[g] - 1), min_size=1,
                                                    max_size=N_OPTIONS[g] - 1) for g in genes}))
ALTS = st.lists(st.tuples(st.sampled_from([None, (1,), (2,)]), CUBES), max_size=14)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(ALTS)
def test_simplify_equals_the_plain_algorithm(items):
    alts = [Alt(shape, cube(c)) for shape, c in items]
    assert simplify(alts, N_OPTIONS) == reference(alts, N_OPTIONS)


def test_a_chain_of_merges_that_reaches_back_to_earlier_rows():
    # (g0=0,g1=0) (g0=1,g1=1) (g0=1,g1=0) (g0=0,g1=1) (g1=2): merges cascade and the row of the last merge moves up
    c = lambda g0, g1: Cube(frozenset({(0, frozenset({g0})), (1, frozenset({g1}))}))  # noqa: E731
    alts = [Alt((1,), c(0, 0)), Alt((1,), c(1, 1)), Alt((1,), c(1, 0)), Alt((1,), c(0, 1)),
            Alt((1,), Cube(frozenset({(1, frozenset({2}))})))]
    assert simplify(alts, N_OPTIONS) == reference(alts, N_OPTIONS) == (Alt((1,), Cube()),)
