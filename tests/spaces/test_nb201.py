"""spaces/nb201.nas against the reference NAS-Bench-201 network: size, parameters, numerics, tied-gene ownership."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from reference_nets import NB201_OPS, nb201, nb201_param_formula
from space_counts import nb201_genomes

from pbtnas.compiler import compile_space
from pbtnas.compiler.builder import count_parameters
from pbtnas.engine.mixing import mix_states
from pbtnas.engine.statedict import ShrinkPerturb

SPACE_FILE = Path(__file__).resolve().parents[2] / "spaces" / "nb201.nas"
CELL_INDICES = [*range(0, 5), *range(6, 11), *range(12, 17)]  # cells 5 and 11 are the reduction blocks


@pytest.fixture(scope="module")
def space():
    return compile_space(SPACE_FILE)


def genotype(space, values) -> list[str]:
    return [space.genes[i].options[v] for i, v in enumerate(values)]


def test_one_tied_genotype_of_six_edges_gives_exactly_5_pow_6_genomes(space) -> None:
    assert space.size == nb201_genomes() == 15_625
    assert [g.name for g in space.genes] == [f"classifier.cell.e{e}" for e in ("10", "20", "21", "30", "31", "32")]
    assert all(g.options == NB201_OPS for g in space.genes)
    # one gene, three widths: the interface lists each stage's
    assert space.genes[0].shapes == " | ".join(f"[{c}, H, W] -> [{c}, H, W]" for c in (16, 32, 64))


@pytest.mark.parametrize("op, expected", [("nor_conv_3x3", 1_531_546), ("none", 73_306),
                                          ("nor_conv_1x1", 241_306), ("skip_connect", 73_306),
                                          ("avg_pool_3x3", 73_306)])
def test_uniform_genotypes_have_the_reference_parameter_counts(space, op, expected) -> None:
    values = [NB201_OPS.index(op)] * 6
    n = count_parameters(space.build(values))
    assert n == expected == nb201_param_formula([op] * 6)
    assert n == count_parameters(nb201([op] * 6))


def test_sampled_genomes_compute_what_the_reference_network_computes(space) -> None:
    rng = np.random.default_rng(0)
    x = torch.randn(2, 3, 32, 32)
    for _ in range(3):
        genome = space.random_genome(rng)
        ours = space.build(genome, seed=1).eval()
        ref = nb201(genotype(space, genome.values)).eval()
        a, b = ours.state_dict(), ref.state_dict()
        # the same modules in the same order: the reference loads our weights tensor by tensor
        assert [t.shape for t in a.values()] == [t.shape for t in b.values()]
        ref.load_state_dict(dict(zip(b, a.values())))
        with torch.no_grad():
            assert torch.allclose(ours.classifier(x), ref(x), atol=1e-5)


def test_set_fits_the_classify_tasks_8x8_grey_digits() -> None:
    small = compile_space(SPACE_FILE, {"in_channels": "1", "resolution": "8", "C": "4", "N": "2"})
    assert small.size == 15_625
    rng = np.random.default_rng(1)
    for _ in range(3):
        out = small.build(small.random_genome(rng)).classifier(torch.randn(5, 1, 8, 8))
        assert out.shape == (5, 10)


def test_each_tied_gene_owns_its_edge_in_all_15_cells(space) -> None:
    keys = list(space.build([3] * 6).state_dict())
    for g in space.genes:
        edge = g.name.rsplit(".", 1)[-1]
        assert g.prefixes == tuple(f"classifier.cells.{k}.{edge}." for k in CELL_INDICES)
        owned = space.owned_keys(g.index, keys)
        assert {k.split(".")[2] for k in owned} == {str(k) for k in CELL_INDICES}
        assert all(f".{edge}." in k for k in owned)


def test_mixing_copies_a_tied_gene_with_the_layers_of_every_cell() -> None:
    small = compile_space(SPACE_FILE, {"C": "4", "N": "2", "resolution": "8"})
    conv3 = NB201_OPS.index("nor_conv_3x3")
    base_g, donor_g = (conv3,) * 6, (conv3, conv3, NB201_OPS.index("nor_conv_1x1"), conv3, conv3, conv3)
    child_g = tuple(donor_g[i] if i == 2 else base_g[i] for i in range(6))

    def state(values, seed):
        sd = {k: v.clone() for k, v in small.build(values, seed=seed).state_dict().items()}
        return {"model": sd, "shadows": {}, "optim": {}, "meta": {}}

    base, donor = state(base_g, 1), state(donor_g, 2)
    fresh = small.build(child_g, seed=3).state_dict()
    child = mix_states(small, base, donor, fresh, (2,), ShrinkPerturb(1.0, 0.0))
    small.build(child_g).load_state_dict(child["model"], strict=True)
    e21 = [k for k in child["model"] if ".e21." in k]
    assert {k.split(".")[2] for k in e21} == {"0", "1", "3", "4", "6", "7"}  # every cell of N=2, not only one
    for key, value in child["model"].items():
        source = donor if ".e21." in key else base
        assert torch.equal(value, source["model"][key]), key


@pytest.mark.slow
def test_a_two_step_search_on_the_classify_task_at_reduced_width(ray_session: str, tmp_path: Path) -> None:
    from searching import classifies_8x8_digits, two_step_search

    sets = {"in_channels": "1", "resolution": "8", "C": "4", "N": "1"}
    module, genome = two_step_search(SPACE_FILE, sets, tmp_path / "nb201-run", ray_session)
    assert len(genome.values) == 6
    assert classifies_8x8_digits(module)
