"""Exact parameter counts from the compiler: equal to `sum(p.numel())` of the built modules, and the space's range
is the true minimum and maximum where the compiler says it is exact."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pbtnas.compiler import parameters
from pbtnas.compiler.selected import selected_modules
from pbtnas.compiler.space import compile_space

SPACES = sorted((Path(__file__).resolve().parents[2] / "spaces").glob("*.nas"))
SAMPLED = 200


@pytest.fixture(scope="module", params=SPACES, ids=lambda p: p.stem)
def space(request):
    return compile_space(request.param)


def test_every_op_rule_matches_the_built_module_for_sampled_genomes(space) -> None:
    """Each selected module's rule against the torch module it builds (memoised per op, shape and arguments), for
    hundreds of genomes: the same check as building whole networks, at a fraction of the cost."""
    rng = np.random.default_rng(7)
    seen = 0
    for _ in range(SAMPLED):
        genome = space.random_genome(rng)
        for m in selected_modules(space.artifact, genome.values):
            if parameters.has_rule(m.op):
                assert parameters.module_parameters(m) == parameters.measure(m), (space.name, m)
                seen += 1
        low, high = space.parameter_range().low, space.parameter_range().high
        assert low <= space.parameters(genome).total <= high
    assert seen > SAMPLED


def test_genome_count_equals_the_built_network(space) -> None:
    rng = np.random.default_rng(11)
    for _ in range(2):
        genome = space.random_genome(rng)
        model = space.build(genome, seed=0)
        counted = space.parameters(genome)
        assert counted.total == sum(p.numel() for p in model.parameters())
        for net in space.networks:
            assert counted.networks[net] == sum(p.numel() for p in getattr(model, net).parameters())
        state = dict(model.named_parameters())
        for i, n in counted.genes.items():
            assert n == sum(state[k].numel() for k in space.owned_keys(i, state)), space.genes[i].name


def test_every_paper_space_has_an_exact_range() -> None:
    for path in SPACES:
        r = compile_space(path).parameter_range()
        assert r.exact and not r.uncounted_ops and 0 < r.low < r.high, (path.stem, r)


@pytest.mark.parametrize("name", ["digits", "mlp"])
def test_the_exact_range_is_the_minimum_and_maximum_over_every_genome(name: str) -> None:
    space = compile_space(Path(__file__).resolve().parents[2] / "spaces" / f"{name}.nas")
    totals = [space.parameters(g).total for g in itertools.product(*(range(len(g.options)) for g in space.genes))]
    r = space.parameter_range()
    assert (r.low, r.high) == (min(totals), max(totals))


def test_an_op_without_a_rule_is_named_and_counted_by_building_it() -> None:
    from torch import nn

    from pbtnas.layers import ArgSpec, OpSpec, get_op, register_op

    if get_op("export_test_bilinear") is None:
        register_op(OpSpec("export_test_bilinear", (ArgSpec("out", "dim"),), lambda s, a: (a["out"],),
                           lambda s, a: [s[0]], lambda s, a: nn.Bilinear(s[0], s[0], a["out"])))
    text = "space t\nnetwork n(x: [4]) -> [3] {\n  return x >> export_test_bilinear(3)\n}\n"
    from pbtnas.compiler.space import compile_text

    space = compile_text(text)
    r = space.parameter_range()
    assert r.uncounted_ops == ("export_test_bilinear",) and "export_test_bilinear" in r.text()
    assert space.parameters([]).total == 4 * 4 * 3 + 3
