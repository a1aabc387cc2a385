"""spaces/mnist1d.nas: three families of feature extractor (MLP, 1-D CNN, transformer on patches) behind one gene,
compiled, built for each family and trained one step (the contract: [1, 40] floats in, [10] logits out)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.compiler import compile_space
from pbtnas.compiler.space import CompiledSpace

SPACE = Path(__file__).resolve().parents[2] / "spaces" / "mnist1d.nas"


@pytest.fixture(scope="module")
def space() -> CompiledSpace:
    return compile_space(SPACE)


def _with(space: CompiledSpace, genome, **chosen: str):
    """`genome` with some genes set by option name (`path="tokens"`)."""
    values = list(genome.values)
    names = [g.name for g in space.genes]
    for gene, option in chosen.items():
        i = names.index(f"classifier.{gene}")
        values[i] = list(space.genes[i].options).index(option)
    return space.validate(values)


def test_the_space_counts_every_family(space: CompiledSpace) -> None:
    # distinct architectures: (dense 9 + 27) + (conv 486) + (tokens 3 * 3 * 6 * (1 + 6) * 2), times 3 dropouts
    assert space.architectures().value == (36 + 486 + 756) * 3
    assert space.size > 10**8


@pytest.mark.parametrize("family", ["dense", "conv", "tokens"])
def test_each_family_builds_and_learns(space: CompiledSpace, family: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(3):
        genome = _with(space, space.random_genome(rng), path=family)
        net = space.build(genome, seed=0).classifier
        x, y = torch.randn(8, 1, 40), torch.randint(0, 10, (8,))
        logits = net(x)
        assert logits.shape == (8, 10)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        active = space.activity(genome).paths
        # exactly the active layers learn: the chosen family's; the others are built (stable keys), without gradient
        for name, p in net.named_parameters():
            in_active_layer = any(f"classifier.{name}".startswith(path + ".") for path in active)
            assert (p.grad is not None) == in_active_layer, name
        assert any(path.startswith(f"classifier.{family}.") for path in active)
        assert not any(path.startswith(f"classifier.{other}.") for path in active
                       for other in {"dense", "conv", "tokens"} - {family})

def test_length_is_a_constant(space: CompiledSpace) -> None:
    longer = compile_space(SPACE, {"length": "80"})
    genome = _with(longer, longer.random_genome(np.random.default_rng(0)), path="tokens")
    assert longer.build(genome, seed=0).classifier(torch.randn(2, 1, 80)).shape == (2, 10)
