"""The reference networks of NAS-Bench-201, DARTS and OFA MobileNetV3: exact sizes, shapes, and their own checks.

Each parameter count is derived twice, by `sum(p.numel())` over the torch modules and by a closed formula written
separately (`*_param_formula`), and asserted as an integer.
"""

from __future__ import annotations

import pytest
import torch

import reference_nets as R


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---- NAS-Bench-201 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op, expected", [
    ("nor_conv_3x3", 1_531_546),  # the benchmark's CIFAR-10 maximum, 1.531546 MB
    ("nor_conv_1x1", 241_306),
    ("none", 73_306),              # the benchmark's CIFAR-10 minimum, 0.073306 MB: stem, reductions, head only
    ("skip_connect", 73_306),
    ("avg_pool_3x3", 73_306),
])
def test_nb201_uniform_cells(op, expected):
    genotype = [op] * 6
    assert n_params(R.nb201(genotype)) == R.nb201_param_formula(genotype) == expected


def test_nb201_cifar100_head():
    genotype = ["nor_conv_3x3"] * 6
    assert n_params(R.nb201(genotype, num_classes=100)) == 1_537_396  # + 64 * 90 + 90 over CIFAR-10


def test_nb201_mixed_genotype_counts_each_edge():
    genotype = ["nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3"]
    assert n_params(R.nb201(genotype)) == R.nb201_param_formula(genotype)


def test_nb201_forward_and_none_is_zero():
    torch.manual_seed(0)
    net = R.nb201(["nor_conv_3x3"] * 6).eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # NB201's none is zeros, not an absent edge...
    cell = R.NB201Cell(["none"] * 6, 16)
    assert torch.equal(cell(torch.randn(2, 16, 8, 8)), torch.zeros(2, 16, 8, 8))
    # ...and all-skip cells sum paths: n1 = x, n2 = x + n1 = 2x, n3 = x + n1 + n2 = 4x
    cell = R.NB201Cell(["skip_connect"] * 6, 16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.allclose(cell(x), 4 * x)


def test_nb201_refuses_a_short_genotype():
    with pytest.raises(ValueError, match="6 edge ops"):
        R.nb201(["none"] * 5)


# ---- DARTS ----------------------------------------------------------------------------------------------------

def test_darts_v2_is_the_papers_3_3m():
    net = R.darts(R.DARTS_V2_NORMAL, R.DARTS_V2_REDUCE)
    count = n_params(net)
    assert count == R.darts_param_formula(R.DARTS_V2_NORMAL, R.DARTS_V2_REDUCE) == 3_349_342
    assert round(count / 1e6, 1) == 3.3  # the DARTS paper's CIFAR-10 figure (auxiliary head excluded)


def test_darts_forward_shapes():
    torch.manual_seed(0)
    net = R.darts(R.DARTS_V2_NORMAL, R.DARTS_V2_REDUCE, C=8, layers=5).eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    cell = net.cells[1]  # layers // 3 == 1: a reduction cell
    assert cell(torch.randn(2, 24, 32, 32), torch.randn(2, 32, 32, 32)).shape == (2, 64, 16, 16)


@pytest.mark.parametrize("op", R.DARTS_OPS)
def test_darts_every_op_in_both_cells_matches_the_formula(op):
    normal = [(op, 0), (op, 1), (op, 1), (op, 2), (op, 0), (op, 3), (op, 2), (op, 4)]
    net = R.darts(normal, normal, C=8, layers=5)
    assert n_params(net) == R.darts_param_formula(normal, normal, C=8, layers=5)
    assert net(torch.randn(1, 3, 16, 16)).shape == (1, 10)


def test_factorized_reduce_is_two_shifted_halves():
    torch.manual_seed(0)
    fr = R.FactorizedReduce(4, 6).eval()
    x = torch.randn(1, 4, 8, 8)
    r = torch.relu(x)
    want = torch.cat([fr.conv_1(r), fr.conv_2(r[:, :, 1:, 1:])], 1)
    assert torch.allclose(fr(x), fr.bn(want))
    assert fr(x).shape == (1, 6, 4, 4)


def test_darts_refuses_repeated_inputs():
    bad = list(R.DARTS_V2_NORMAL)
    bad[1] = ("sep_conv_3x3", 0)
    with pytest.raises(ValueError, match="two distinct inputs"):
        R.darts(bad, R.DARTS_V2_REDUCE)


# ---- Once-for-All MobileNetV3 ---------------------------------------------------------------------------------

LARGEST = ([7] * 20, [6] * 20, [4] * 5)
SMALLEST = ([3] * 20, [3] * 20, [2] * 5)


@pytest.mark.parametrize("genotype, width, expected", [
    (LARGEST, 1.0, 7_664_760), (SMALLEST, 1.0, 3_410_792), (LARGEST, 1.2, 10_701_632), (SMALLEST, 1.2, 4_602_456),
])
def test_ofa_extremes(genotype, width, expected):
    assert n_params(R.ofa_mbv3(*genotype, width_mult=width)) == R.ofa_param_formula(*genotype, width) == expected


def test_ofa_inactive_blocks_do_not_count():
    ks, es, ds = [3] * 20, [3] * 20, [2] * 5
    ks2 = list(ks)
    ks2[3] = 7  # block 4 of unit 1: past depth 2
    assert n_params(R.ofa_mbv3(ks2, es, ds)) == n_params(R.ofa_mbv3(ks, es, ds))
    ks2[1] = 7  # block 2 of unit 1: active
    assert n_params(R.ofa_mbv3(ks2, es, ds)) > n_params(R.ofa_mbv3(ks, es, ds))


def test_ofa_random_subnets_match_the_formula():
    import random
    rng = random.Random(0)
    for _ in range(5):
        ks = [rng.choice(R.OFA_KERNELS) for _ in range(20)]
        es = [rng.choice(R.OFA_EXPANDS) for _ in range(20)]
        ds = [rng.choice(R.OFA_DEPTHS) for _ in range(5)]
        assert n_params(R.ofa_mbv3(ks, es, ds)) == R.ofa_param_formula(ks, es, ds)


def test_ofa_forward_and_resolution():
    torch.manual_seed(0)
    net = R.ofa_mbv3(*SMALLEST, num_classes=10, resolution=64).eval()
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 10)
    with pytest.raises(ValueError, match="multiple of 32"):
        R.ofa_mbv3(*SMALLEST, resolution=100)


def test_ofa_se_gates_channels():
    se = R.SqueezeExcite(72)
    assert (se.reduce.out_channels, se.expand.out_channels) == (24, 72)  # make_divisible(72 // 4, 8)
    x = torch.randn(2, 72, 5, 5)
    gate = torch.nn.functional.hardsigmoid(se.expand(torch.relu(se.reduce(x.mean((2, 3), keepdim=True)))))
    assert torch.allclose(se(x), x * gate)


def test_make_divisible():
    assert [R.make_divisible(v) for v in (16 * 1.2, 24 * 3, 40 * 1.2, 960 * 1.2, 3, 13)] == [24, 72, 48, 1152, 8, 16]


def test_ofa_refuses_an_unknown_option():
    with pytest.raises(ValueError, match="kernel must be one of"):
        R.ofa_mbv3([9] * 20, [3] * 20, [2] * 5)
