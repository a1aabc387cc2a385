"""FLOPs (multiply-adds per sample) from torch's FlopCounterMode, against hand counts on spaces/digits.nas."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbtnas.compiler.flops import genome_flops
from pbtnas.compiler.space import compile_space

DIGITS = Path(__file__).resolve().parents[2] / "spaces" / "digits.nas"
STEM = 16 * 1 * 9 * 8 * 8  # conv 1 -> 16, k=3, at 8x8


@pytest.fixture(scope="module")
def digits():
    return compile_space(DIGITS)


def choose(space, **choices: str) -> list[int]:
    defaults = {"classifier.stage1": "skip", "classifier.stage2": "skip", "classifier.head": "linear"}
    named = {**defaults, **{f"classifier.{k}": v for k, v in choices.items()}}
    return [g.options.index(named[g.name]) if g.name in named else 0 for g in space.genes]


@pytest.mark.parametrize("choices, stage1, stage2, head", [
    ({}, 0, 0, 16 * 10),
    # conv3 at 8x8, conv5 at 4x4 (after the pool), the mlp head 16 -> 32 -> 10
    ({"stage1": "conv3", "stage2": "conv5", "head": "mlp"}, 16 * 16 * 9 * 64, 16 * 16 * 25 * 16, 16 * 32 + 32 * 10),
    # depthwise 3x3 (groups=16) then pointwise 1x1; the residual's two convs
    ({"stage1": "sep3", "stage2": "residual"}, 16 * 9 * 64 + 16 * 16 * 64, 2 * 16 * 16 * 9 * 16, 16 * 10),
])
def test_flops_match_hand_counts(digits, choices, stage1, stage2, head) -> None:
    flops = genome_flops(digits, choose(digits, **choices))
    genes = {digits.genes[i].name.split(".")[1]: n for i, n in flops.genes.items()}
    assert (genes["stage1"], genes["stage2"], genes["head"]) == (stage1, stage2, head)
    assert flops.total == flops.networks["classifier"] == STEM + stage1 + stage2 + head


def test_a_gan_counts_each_network(digits) -> None:
    space = compile_space(DIGITS.parent / "ganhard.nas", {"gf_dim": "8", "df_dim": "8"})
    flops = genome_flops(space, [0] * len(space.genes))
    assert set(flops.networks) == {"generator", "discriminator"} and all(n > 0 for n in flops.networks.values())
