"""spaces/darts.nas against the reference DARTS evaluation network: size, parameters, numerics, genome layout."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import torch
from reference_nets import DARTS_OPS, DARTS_V2_NORMAL, DARTS_V2_REDUCE, darts, darts_param_formula
from space_counts import darts_genotypes

from pbtnas.compiler import compile_space
from pbtnas.compiler.builder import count_parameters
from pbtnas.engine.mixing import close_over_links, mix_states
from pbtnas.engine.statedict import ShrinkPerturb

SPACE_FILE = Path(__file__).resolve().parents[2] / "spaces" / "darts.nas"
SMALL = {"C": "4", "cells": "5", "resolution": "16"}  # reductions at cells 1 and 3: a reduction after a reduction's
# successor, factorized_reduce preprocessing twice, and both stages' widths
Genotype = list[tuple[str, int]]


@pytest.fixture(scope="module")
def space():
    return compile_space(SPACE_FILE)


@pytest.fixture(scope="module")
def small():
    return compile_space(SPACE_FILE, SMALL)


def pairs(node: int) -> list[tuple[int, int]]:
    """The options of node `node`'s pick: pairs of its inputs 0..node+1 (s0, s1, n0, ...) in list order."""
    return list(combinations(range(node + 2), 2))


def to_values(normal: Genotype, reduce: Genotype) -> list[int]:
    """A published genotype as our genome: per node the pair's index, then the ops on its earlier and later input.
    The reference sums a node's two edges, so the order a genotype lists them in does not change the network."""
    values = []
    for genotype in (normal, reduce):
        for node in range(4):
            (op_a, a), (op_b, b) = sorted(genotype[2 * node:2 * node + 2], key=lambda edge: edge[1])
            values += [pairs(node).index((a, b)), DARTS_OPS.index(op_a), DARTS_OPS.index(op_b)]
    return values


def to_genotypes(values) -> tuple[Genotype, Genotype]:
    """Our genome as the reference's (op, input) pairs, in the order our cells create their layers."""
    cells = []
    for cell in range(2):
        genotype = []
        for node in range(4):
            pick, op_a, op_b = values[12 * cell + 3 * node:12 * cell + 3 * node + 3]
            a, b = pairs(node)[pick]
            genotype += [(DARTS_OPS[op_a], a), (DARTS_OPS[op_b], b)]
        cells.append(genotype)
    return cells[0], cells[1]


def test_two_cell_genotypes_of_twelve_genes_give_exactly_the_papers_size(space) -> None:
    assert space.size == darts_genotypes() == 1_037_664_180 ** 2
    names = [g.name for g in space.genes]
    assert names == [f"classifier.{cell}.{gene}{j}" for cell in ("normal", "reduce") for j in range(4)
                     for gene in ("in", "a", "b")]
    assert [len(g.options) for g in space.genes[:12:3]] == [1, 3, 6, 10]
    assert space.genes[9].options[:4] == ("s0_s1", "s0_n0", "s0_n1", "s0_n2")
    assert all(g.options == DARTS_OPS for g in space.genes if g.kind == "slot")


def test_darts_v2_has_the_reference_networks_3349342_parameters(space) -> None:
    n = count_parameters(space.build(to_values(DARTS_V2_NORMAL, DARTS_V2_REDUCE)))
    assert n == 3_349_342 == darts_param_formula(DARTS_V2_NORMAL, DARTS_V2_REDUCE)
    assert n == count_parameters(darts(DARTS_V2_NORMAL, DARTS_V2_REDUCE))


def test_sampled_genotypes_have_the_reference_parameter_counts(space) -> None:
    rng = np.random.default_rng(0)
    for _ in range(4):
        genome = space.random_genome(rng)
        normal, reduce = to_genotypes(genome.values)
        assert to_values(normal, reduce) == list(genome.values)
        n = count_parameters(space.build(genome))
        assert n == darts_param_formula(normal, reduce) == count_parameters(darts(normal, reduce))


def test_a_reduction_edge_has_the_layers_of_the_input_its_pick_routes_to_it(space) -> None:
    # reduce.in1 = s0_n0 routes s0 to a1 and n0 to b1: b1 is the stride-1 slot, and its stride-2 twin has no layers
    values = to_values(DARTS_V2_NORMAL, DARTS_V2_REDUCE)
    values[12 + 3:12 + 6] = [pairs(1).index((0, 2)), 0, DARTS_OPS.index("skip_connect")]
    keys = space.build(values).state_dict()
    assert not any(".b1_down." in k for k in keys) and not any(".b1_keep." in k for k in keys)  # identity
    values[12 + 5] = DARTS_OPS.index("sep_conv_3x3")
    keys = space.build(values).state_dict()
    assert any(".c.6.b1_keep." in k for k in keys) and not any(".b1_down." in k for k in keys)
    values[12 + 3] = pairs(1).index((0, 1))  # now s1 reaches b1: the stride-2 twin
    keys = space.build(values).state_dict()
    assert any(".c.6.b1_down." in k for k in keys) and not any(".b1_keep." in k for k in keys)


def test_a_reduction_pick_travels_with_the_ops_whose_layers_it_decides(space) -> None:
    index = {g.name: g.index for g in space.genes}
    group = lambda name: {space.genes[i].name for i in close_over_links(space.genes, [index[name]])}  # noqa: E731
    assert group("classifier.reduce.in1") == {"classifier.reduce.in1", "classifier.reduce.b1"}
    assert group("classifier.reduce.a3") == {f"classifier.reduce.{g}" for g in ("in3", "a3", "b3")}
    assert group("classifier.normal.in2") == {"classifier.normal.in2"}  # normal cells: no stride to route
    assert group("classifier.reduce.a0") == {"classifier.reduce.a0"}


def test_the_same_modules_compute_what_the_reference_network_computes(small) -> None:
    rng = np.random.default_rng(2)
    x = torch.randn(2, 3, 16, 16)
    genomes = [to_values(DARTS_V2_NORMAL, DARTS_V2_REDUCE)] + [list(small.random_genome(rng).values)
                                                                for _ in range(3)]
    for values in genomes:
        ours = small.build(values, seed=1).eval()
        with torch.no_grad():
            for module in ours.modules():  # BN statistics away from 0 and 1, so that eval-mode BN is compared too
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.uniform_(-0.5, 0.5)
                    module.running_var.uniform_(0.5, 2.0)
        ref = darts(*to_genotypes(values), C=4, layers=5).eval()
        a, b = ours.state_dict(), ref.state_dict()
        # the same modules in the same order: the reference loads our weights tensor by tensor
        assert [t.shape for t in a.values()] == [t.shape for t in b.values()]
        ref.load_state_dict(dict(zip(b, a.values())))
        with torch.no_grad():
            assert torch.allclose(ours.classifier(x), ref(x), atol=1e-5)


def test_set_fits_the_classify_tasks_8x8_grey_digits() -> None:
    tiny = compile_space(SPACE_FILE, {"in_channels": "1", "resolution": "8", "C": "4", "cells": "3"})
    assert tiny.size == darts_genotypes()
    rng = np.random.default_rng(1)
    for _ in range(3):
        out = tiny.build(tiny.random_genome(rng)).classifier(torch.randn(5, 1, 8, 8))
        assert out.shape == (5, 10)


def test_mixing_a_reduction_pair_copies_the_layers_of_every_reduction_cell(small) -> None:
    v2 = to_values(DARTS_V2_NORMAL, DARTS_V2_REDUCE)
    donor_g = list(v2)
    donor_g[12 + 6:12 + 9] = [pairs(2).index((2, 3)), 1, 2]  # reduce node 2 reads n0, n1 via sep5 / dil3
    inherited = close_over_links(small.genes, [12 + 6])
    assert inherited == (18, 19, 20)
    child_g = [donor_g[i] if i in inherited else v2[i] for i in range(24)]

    def state(values, seed):
        sd = {k: v.clone() for k, v in small.build(values, seed=seed).state_dict().items()}
        return {"model": sd, "shadows": {}, "optim": {}, "meta": {}}

    base, donor = state(v2, 1), state(donor_g, 2)
    fresh = small.build(child_g, seed=3).state_dict()
    child = mix_states(small, base, donor, fresh, inherited, ShrinkPerturb(1.0, 0.0))
    small.build(child_g).load_state_dict(child["model"], strict=True)
    moved = [k for k in child["model"] if ".a2_keep." in k or ".b2_keep." in k]
    assert {k.split(".")[2] for k in moved} == {"1", "3"}  # both reduction cells of 5
    for key, value in child["model"].items():
        source = donor if key in moved else base
        assert torch.equal(value, source["model"][key]), key


@pytest.mark.slow
def test_a_two_step_search_on_the_classify_task_at_reduced_width(ray_session: str, tmp_path: Path) -> None:
    from searching import classifies_8x8_digits, two_step_search

    sets = {"in_channels": "1", "resolution": "8", "C": "4", "cells": "3"}
    module, genome = two_step_search(SPACE_FILE, sets, tmp_path / "darts-run", ray_session)
    assert len(genome.values) == 24
    assert classifies_8x8_digits(module)
