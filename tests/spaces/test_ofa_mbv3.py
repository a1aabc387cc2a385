"""spaces/ofa_mbv3.nas against the reference Once-for-All MobileNetV3 subnet: size, distinct architectures,
parameters of active layers, numerics, and a short search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from reference_nets import OFA_DEPTHS, OFA_EXPANDS, OFA_KERNELS, OFA_MAX_DEPTH, OFA_UNITS, ofa_mbv3, ofa_param_formula
from space_counts import ofa_architectures, ofa_genomes
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.compiler import compile_space
from pbtnas.compiler.activity import active_keys

SPACE_FILE = Path(__file__).resolve().parents[2] / "spaces" / "ofa_mbv3.nas"
LARGEST = ([7] * 20, [6] * 20, [4] * 5)
SMALLEST = ([3] * 20, [3] * 20, [2] * 5)
# The classify task's 8x8 grey digits at width 8 everywhere (the widths of consecutive units must differ).
SMALL = {"in_channels": "1", "resolution": "32", "classes": "10", "first": "8", "w1": "8", "w2": "16",
         "w3": "24", "w4": "32", "w5": "40", "final": "48", "last": "64"}


@pytest.fixture(scope="module")
def space():
    return compile_space(SPACE_FILE)


def genome_of(ks, es, ds) -> list[int]:
    """The reference genotype (20 kernels, 20 expansions, 5 depths) as our genome: per unit d, then (k, e) per
    block, in declaration order."""
    values = []
    for u in range(len(OFA_UNITS)):
        values.append(OFA_DEPTHS.index(ds[u]))
        for i in range(OFA_MAX_DEPTH):
            b = u * OFA_MAX_DEPTH + i
            values += [OFA_KERNELS.index(ks[b]), OFA_EXPANDS.index(es[b])]
    return values


def genotype_of(values) -> tuple[list[int], list[int], list[int]]:
    ks, es, ds = [], [], []
    for u in range(len(OFA_UNITS)):
        chunk = values[u * 9:(u + 1) * 9]
        ds.append(OFA_DEPTHS[chunk[0]])
        ks += [OFA_KERNELS[v] for v in chunk[1::2]]
        es += [OFA_EXPANDS[v] for v in chunk[2::2]]
    return ks, es, ds


def active_parameters(space, values) -> int:
    model = space.build(values)
    params = dict(model.named_parameters())
    return sum(params[k].numel() for k in active_keys(space.activity(values), params))


def test_genomes_and_distinct_architectures_are_the_papers(space) -> None:
    assert space.size == ofa_genomes() == (3 * 9 ** 4) ** 5
    count = space.architectures()
    assert count.value == ofa_architectures() == 7_371 ** 5
    assert count.enumerated <= 5 * 4  # each unit's depth explored on its own: never the 3 ** 5 joint depths
    names = [g.name for g in space.genes]
    assert names[:3] == ["classifier.u1.d", "classifier.u1.b1.k", "classifier.u1.b1.e"]
    assert len(names) == 5 * (1 + 2 * OFA_MAX_DEPTH)


@pytest.mark.parametrize("genotype, expected", [(LARGEST, 7_664_760), (SMALLEST, 3_410_792)])
def test_largest_and_smallest_have_the_reference_parameter_counts(space, genotype, expected) -> None:
    values = genome_of(*genotype)
    assert active_parameters(space, values) == expected == ofa_param_formula(*genotype)
    assert expected == sum(p.numel() for p in ofa_mbv3(*genotype).parameters())


def test_sampled_genotypes_have_the_reference_parameter_counts(space) -> None:
    rng = np.random.default_rng(0)
    for _ in range(4):
        values = list(space.random_genome(rng).values)
        assert active_parameters(space, values) == ofa_param_formula(*genotype_of(values))


def test_blocks_past_the_depth_are_inactive(space) -> None:
    values = genome_of(*SMALLEST)
    activity = space.activity(values)
    inactive = {space.genes[i].name for i in range(len(space.genes)) if i not in activity.genes}
    assert inactive == {f"classifier.u{u}.b{b}.{g}" for u in range(1, 6) for b in (3, 4) for g in "ke"}


def test_the_numerics_are_the_reference_networks(space) -> None:
    rng = np.random.default_rng(3)
    values = list(space.random_genome(rng).values)
    ks, es, ds = genotype_of(values)
    ours = space.build(values, seed=1).eval()
    ref = ofa_mbv3(ks, es, ds).eval()
    state = ours.state_dict()
    mine = [state[k] for k in active_keys(space.activity(values), state)]
    theirs = ref.state_dict()
    assert len(mine) == len(theirs)
    # the same layers in the same order; a 1x1 conv on a pooled vector is our linear: same numbers, other shape
    ref.load_state_dict({k: m.reshape(t.shape) for (k, t), m in zip(theirs.items(), mine)})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours.classifier(x), ref(x), atol=1e-4)


def test_sampled_genomes_run_a_forward_pass_at_a_small_width() -> None:
    small = compile_space(SPACE_FILE, SMALL)
    assert small.size == ofa_genomes()
    rng = np.random.default_rng(1)
    for _ in range(3):
        out = small.build(small.random_genome(rng)).classifier(torch.randn(2, 1, 32, 32))
        assert out.shape == (2, 10)


def test_show_reports_the_active_parameter_count(space, tmp_path: Path) -> None:
    runner = CliRunner()
    for genotype, expected in ((LARGEST, 7_664_760), (SMALLEST, 3_410_792)):
        genome = tmp_path / "g.json"
        genome.write_text(json.dumps(space.to_json_genome(genome_of(*genotype))))
        result = runner.invoke(app, ["show", str(SPACE_FILE), str(genome)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert f"classifier: {expected:,} parameters" in result.output
        assert ("(inactive)" in result.output) == (genotype is SMALLEST)


@pytest.mark.slow
def test_a_two_step_search_on_the_classify_task_at_reduced_width(ray_session: str, tmp_path: Path) -> None:
    from searching import classifies_8x8_digits, two_step_search

    sets = {**SMALL, "resolution": "8", "s3": "1", "s5": "1"}  # 8 -> 4 -> 2 -> 1 by the stem, units 1 and 2
    module, genome = two_step_search(SPACE_FILE, sets, tmp_path / "ofa-run", ray_session)
    assert len(genome.values) == 45
    assert classifies_8x8_digits(module)
