"""spaces/vit.nas: patch embedding, a width gene for every layer, per-layer heads / MLP ratio / active genes, and mean
or class-token pooling; 50 sampled genomes build and classify a [2, 3, 32, 32] batch, with weights named by gene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.compiler import compile_space
from pbtnas.compiler.space import CompiledSpace

SPACE = Path(__file__).resolve().parents[2] / "spaces" / "vit.nas"


@pytest.fixture(scope="module")
def space() -> CompiledSpace:
    return compile_space(SPACE)


def _index(space: CompiledSpace, name: str) -> int:
    return [g.name for g in space.genes].index(name)


def test_fifty_sampled_genomes_build_and_classify(space: CompiledSpace) -> None:
    rng = np.random.default_rng(0)
    x = torch.randn(2, 3, 32, 32)
    keys = None
    for _ in range(50):
        genome = space.random_genome(rng)
        net = space.build(genome, seed=0).classifier
        assert net(x).shape == (2, 10)
        width = int(space.decode(genome)["classifier.width"])
        state = net.state_dict()
        assert state["t.0.weight"].shape == (width, 3, 8, 8)  # patch_embed: an 8x8 stride-8 conv, 16 tokens
        assert state["l.1.a.1.in_proj_weight"].shape == (3 * width, width)
        keys = keys or set(state)
        assert set(state) == keys  # every genome has the same parameter names: mixing is a merge by key


def test_the_count_of_architectures(space: CompiledSpace) -> None:
    # 3 widths x 2 poolings x (1 inactive + 3 heads x 3 ratios active) per layer, 4 layers
    assert space.architectures().value == 3 * 2 * 10 ** 4
    assert space.size == 3 * 2 * 18 ** 4


def test_weights_by_gene(space: CompiledSpace) -> None:
    keys = list(space.build(space.random_genome(np.random.default_rng(1)), seed=0).state_dict())
    width = space.owned_keys(_index(space, "classifier.width"), keys)
    # the width shapes every layer: patches, positions, attention, MLP, norms, the head
    for key in ("classifier.t.0.weight", "classifier.l.0.0.weight", "classifier.l.1.a.1.in_proj_weight",
                "classifier.l.4.m.3.weight", "classifier.return.2.weight"):
        assert key in width
    heads = _index(space, "classifier.l.2.heads")
    assert space.owned_keys(heads, keys) == []  # heads shape no weight (in_proj is [3D, D] for any head count)
    ratio = space.genes[_index(space, "classifier.l.2.ratio")]
    assert _index(space, "classifier.width") in ratio.linked  # [D * ratio, D]: copied together with the width


def test_heads_change_no_weight_shape(space: CompiledSpace) -> None:
    genome = list(space.random_genome(np.random.default_rng(2)).values)
    shapes = []
    for option in range(3):
        for layer in range(1, 5):
            genome[_index(space, f"classifier.l.{layer}.heads")] = option
        net = space.build(space.validate(genome), seed=0).classifier
        assert net.get_submodule("l.3.a.1").num_heads == (1, 2, 4)[option]
        state = net.state_dict()
        shapes.append({k: v.shape for k, v in state.items()})
    assert shapes[0] == shapes[1] == shapes[2]


def test_an_inactive_layer_passes_its_input_on(space: CompiledSpace) -> None:
    genome = list(space.random_genome(np.random.default_rng(3)).values)
    for layer in range(1, 5):
        genome[_index(space, f"classifier.l.{layer}.active")] = 0  # off
    g = space.validate(genome)
    active = space.activity(g).genes
    assert not any(space.genes[i].name.endswith((".heads", ".ratio")) for i in active)
    net = space.build(g, seed=0).classifier
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
