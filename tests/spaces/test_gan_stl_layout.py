"""spaces/gan.nas with `--set stl_projections=on`: the authors' STL-10 layout of the latent projections.

In the authors' code (github.com/AwesomeLemon/PBT-NAS @5a27434, models/gan/advnas.py; set by configs/main/stl_easy_*)
the STL generator has two projections, each of half of z: z[0:60] -> Linear(60, bw^2 C) into cell 1 and
z[60:120] -> Linear(60, (2 bw)^2 C) added after cell 1; nothing is added after cell 2. The CIFAR layout has three
projections of 40 dims each (the third, Linear(40, (4 bw)^2 C), added after cell 2). The expected parameter counts
below are worked out from that description layer by layer, not read from the compiled space.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.compiler import compile_space
from pbtnas.dsl.diagnostics import DiagnosticError

GAN = Path(__file__).resolve().parents[2] / "spaces" / "gan.nas"
STL = {"gf_dim": "270", "bottom_width": "6"}

# The genome the audit quoted (the first of `random_genome(default_rng(0))`): 21.5 M generator parameters in the
# CIFAR layout rescaled to STL, 16.1 M in the authors' STL layout.
AUDIT_GENOME = [2, 1, 3, 1, 2, 0, 0, 0, 0, 5, 4, 6, 3, 4, 2, 2, 4, 3, 3, 6, 1]


@lru_cache(maxsize=None)
def _space(**overrides: str):
    return compile_space(GAN, overrides)


def _conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def _linear(i: int, o: int) -> int:
    return i * o + o


def expected_generator_params(genome: list[int], C: int, bw: int, stl: bool, latent: int = 120) -> int:
    """The generator's parameter count from the layer list of the authors' AdversarialNAS generator."""
    up = [_conv(C, C, 1), _conv(C, C, 1), C * 9 + _conv(C, C, 1, bias=False)]  # nearest, bilinear, depthwise convT
    edge = [0, 0, _conv(C, C, 1), _conv(C, C, 3), _conv(C, C, 5), _conv(C, C, 3), _conv(C, C, 5)]  # OPS7 order
    n = 0
    for cell in range(3):
        g = genome[7 * cell: 7 * cell + 7]
        n += up[g[0]] + up[g[1]] + sum(edge[v] for v in g[2:])
    n += 3 * _conv(C, C, 1)                    # skip-in convs: one into cell 2, two into cell 3
    n += 2 * C + _conv(C, 3, 3)                # to_rgb: BatchNorm affine, 3x3 conv to RGB
    if stl:
        half = latent // 2
        n += _linear(half, bw * bw * C) + _linear(half, 4 * bw * bw * C)
    else:
        third = latent // 3
        n += _linear(third, bw * bw * C) + _linear(third, 4 * bw * bw * C) + _linear(third, 16 * bw * bw * C)
    return n


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_audit_genome_has_the_authors_stl_parameter_count() -> None:
    rescaled = _space(**STL).build(AUDIT_GENOME, seed=0).generator
    authors = _space(**STL, stl_projections="on").build(AUDIT_GENOME, seed=0).generator
    assert _count(authors) == expected_generator_params(AUDIT_GENOME, 270, 6, stl=True) == 16_106_313
    assert _count(rescaled) == expected_generator_params(AUDIT_GENOME, 270, 6, stl=False) == 21_510_633
    # The projections alone: 61*9720 + 61*38880 in the STL layout against 41*(9720 + 38880 + 155520).
    assert _count(rescaled) - _count(authors) == 8_368_920 - 2_964_600 == 5_404_320


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_genomes_match_the_layer_list(seed: int) -> None:
    small = {"gf_dim": "16", "bottom_width": "6"}
    genome = list(_space(**small).random_genome(np.random.default_rng(seed)).values)
    for stl in (False, True):
        sp = _space(**small, stl_projections="on" if stl else "off")
        assert _count(sp.build(genome, seed=0).generator) == expected_generator_params(genome, 16, 6, stl=stl)


def test_stl_layout_has_two_half_projections_and_nothing_after_cell_2() -> None:
    sp = _space(gf_dim="16", df_dim="16", bottom_width="6", stl_projections="on")
    model = sp.build(AUDIT_GENOME, seed=0)
    shapes = {k: tuple(v.shape) for k, v in model.generator.state_dict().items() if k.startswith("l")}
    assert shapes == {"l1.1.weight": (6 * 6 * 16, 60), "l1.1.bias": (6 * 6 * 16,),
                      "l2.1.weight": (12 * 12 * 16, 60), "l2.1.bias": (12 * 12 * 16,)}
    model.eval()
    z = torch.randn(2, 120, generator=torch.Generator().manual_seed(0))
    out = model.generator(z)
    assert out.shape == (2, 3, 48, 48)
    # Every latent dimension reaches the image: z[60:120] through the projection after cell 1.
    for part in (slice(0, 60), slice(60, 120)):
        z2 = z.clone()
        z2[:, part] += 1.0
        assert not torch.allclose(model.generator(z2), out)


def test_switch_keeps_the_genome_layout() -> None:
    off, on = _space(**STL), _space(**STL, stl_projections="on")
    assert on.schema_hash == off.schema_hash and [g.name for g in on.genes] == [g.name for g in off.genes]
    assert set(off.build(AUDIT_GENOME).state_dict()) - set(on.build(AUDIT_GENOME).state_dict()) == \
        {"generator.l3.1.weight", "generator.l3.1.bias"}


@pytest.mark.parametrize("value, code", [("maybe", "E0213"), ("1", "E0110")])
def test_a_bad_switch_value_is_a_clear_error(value: str, code: str) -> None:
    with pytest.raises(DiagnosticError) as err:
        compile_space(GAN, {**STL, "stl_projections": value})
    assert code in str(err.value)
