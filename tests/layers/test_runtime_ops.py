"""Runtime ops the classic NAS spaces need (hardswish, hardsigmoid, zero, factorized_reduce, batchnorm(affine=off),
avg_pool(include_pad=off)) and the tensor-product rule: shapes on symbolic dims, parameter counts, and numerics
against torch directly, both through the op library and through a compiled `.nas` space."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch
import torch.nn.functional as F
from torch import nn

from pbtnas.compiler import compile_text
from pbtnas.layers import ShapeError, get_op
from pbtnas.layers.dims import Dim
from pbtnas.layers.products import broadcast_shape, multiply

H, W, C = Dim.sym("$H"), Dim.sym("$W"), Dim.sym("$C")


def build(name: str, in_shape: tuple[int, ...], **args) -> nn.Module:
    spec = get_op(name)
    full = {a.name: a.default for a in spec.args}
    full.update(args)
    return spec.build(in_shape, full)


def shape(name: str, in_shape, **args):
    spec = get_op(name)
    full = {a.name: a.default for a in spec.args}
    full.update(args)
    return spec.shape(tuple(in_shape), full), spec.param_dims(tuple(in_shape), full)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---- activations ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, ref", [
    ("hardswish", lambda x: x * F.relu6(x + 3) / 6), ("hardsigmoid", lambda x: F.relu6(x + 3) / 6)])
def test_hard_activations(name, ref):
    x = torch.linspace(-5, 5, 101)
    for module in (build(name, (101,)), build("activation", (101,), kind=name)):
        assert torch.allclose(module(x), ref(x), atol=1e-6)
    out, params = shape(name, (C, H, W))
    assert out == (C, H, W) and params == []


# ---- zero -----------------------------------------------------------------------------------------------------

def test_zero_keeps_the_shape_and_owns_nothing():
    out, params = shape("zero", (C, H, W))
    assert out == (C, H, W) and params == []
    z = build("zero", (4, 5, 5))
    x = torch.randn(2, 4, 5, 5)
    x[0, 0, 0, 0] = float("inf")
    assert torch.equal(z(x), torch.zeros(2, 4, 5, 5)) and n_params(z) == 0


# ---- factorized_reduce ----------------------------------------------------------------------------------------

def test_factorized_reduce_shape_is_a_stride_2_conv():
    out, params = shape("factorized_reduce", (C, H, W), out=32)
    conv_out, _ = shape("conv", (C, H, W), out=32, k=1, stride=2)
    assert out == conv_out
    assert params == [C, Dim.const(32)]
    assert shape("factorized_reduce", (Dim.const(8), Dim.const(7), Dim.const(6)), out=16)[0] == \
        (Dim.const(16), Dim.const(4), Dim.const(3))
    with pytest.raises(ShapeError, match="rank-3"):
        shape("factorized_reduce", (C,), out=8)
    with pytest.raises(ShapeError, match="at least 2"):
        shape("factorized_reduce", (C, H, W), out=1)


def test_factorized_reduce_is_dartss_op_on_even_sizes():
    torch.manual_seed(0)
    fr = build("factorized_reduce", (6, 8, 8), out=10).eval()
    assert n_params(fr) == 6 * 5 + 6 * 5 + 2 * 10
    x = torch.randn(2, 6, 8, 8)
    r = F.relu(x)
    # DARTS: conv_2 reads x[:, :, 1:, 1:] with no padding (defined for even sizes only)
    want = fr.bn(torch.cat([fr.conv_1(r), fr.conv_2(r[:, :, 1:, 1:])], dim=1))
    assert torch.allclose(fr(x), want)
    odd = build("factorized_reduce", (6, 7, 7), out=10)
    assert odd(torch.randn(2, 6, 7, 7)).shape == (2, 10, 4, 4)
    assert n_params(build("factorized_reduce", (6, 8, 8), out=10, affine="off")) == 60


# ---- batchnorm(affine=off), avg_pool(include_pad=off) ---------------------------------------------------------

def test_batchnorm_affine_off():
    bn = build("batchnorm", (4, 3, 3), affine="off")
    assert n_params(bn) == 0 and set(bn.state_dict()) >= {"running_mean", "running_var"}
    assert n_params(build("batchnorm", (4, 3, 3))) == 8
    x = torch.randn(8, 4, 3, 3)
    assert torch.allclose(bn(x), nn.BatchNorm2d(4, affine=False)(x), atol=1e-6)
    assert shape("batchnorm", (C, H, W), affine="off")[1] == [C]  # running stats stay owned


def test_avg_pool_include_pad():
    x = torch.randn(2, 3, 6, 6)
    off = build("avg_pool", (3, 6, 6), k=3, stride=1, pad=1, include_pad="off")
    assert torch.allclose(off(x), F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
    on = build("avg_pool", (3, 6, 6), k=3, stride=1, pad=1)
    assert torch.allclose(on(x), F.avg_pool2d(x, 3, 1, 1))
    assert not torch.allclose(on(x), off(x))


# ---- tensor products ------------------------------------------------------------------------------------------

def test_broadcast_leading_alignment():
    assert broadcast_shape((C,), (C, H, W)) == (C, H, W)
    assert broadcast_shape((C, H, W), (C,)) == (C, H, W)
    one = Dim.const(1)
    assert broadcast_shape((C, one, one), (C, H, W)) == (C, H, W)
    assert broadcast_shape((C, H, W), (C, H, W)) == (C, H, W)
    assert broadcast_shape((), (C, H)) == (C, H)
    assert broadcast_shape((2 * C,), (C * 2, H, W)) == (2 * C, H, W)  # equal as polynomials
    with pytest.raises(ShapeError, match="dimension 1 is C against W"):
        broadcast_shape((C, H, W), (W,))
    with pytest.raises(ShapeError, match="dimension 2"):
        broadcast_shape((C, H, W), (C, W))


def test_multiply_is_a_channel_gate():
    x = torch.randn(2, 5, 4, 4)
    g = torch.rand(2, 5)
    assert torch.equal(multiply(x, g), x * g[:, :, None, None])
    assert torch.equal(multiply(g, x), x * g[:, :, None, None])
    y = torch.randn(2, 5, 4, 4)
    assert torch.equal(multiply(x, y), x * y)


# ---- through the compiler -------------------------------------------------------------------------------------

SPACE = textwrap.dedent('''
    space classic_ops
    # the options are proven interchangeable for every H, W (fresh symbols), then built at 16 x 16
    options EDGE[H, W](C): [C, H, W] -> [C, H, W] {
      gone = zero
      pool = avg_pool(3, stride=1, pad=1, include_pad=off)
      conv = relu >> conv(C, k=3, pad=1, bias=off) >> batchnorm(affine=off)
    }
    options DOWN[H, W](C, D): [C, H, W] -> [D, H // 2, W // 2] {
      fr      = factorized_reduce(D)
      strided = conv(D, k=3, stride=2, pad=1, bias=off) >> batchnorm
    }
    network net(x: [8, 16, 16]) -> [10] {
      slot edge: EDGE(8)
      slot down: DOWN(8, 16)
      a = x >> edge
      b = a >> down >> hardswish
      return b >> global_avg_pool >> linear(10) >> hardsigmoid
    }
''')


def test_ops_compile_and_build_in_a_space():
    space = compile_text(SPACE, "classic_ops.nas")
    counts = {}
    for e in range(3):
        for d in range(2):
            model = space.build(space.validate([e, d]), seed=0).eval()
            out = model.net(torch.randn(2, 8, 16, 16))
            assert out.shape == (2, 10) and bool(((out >= 0) & (out <= 1)).all())
            counts[e, d] = n_params(model)
    head = 16 * 10 + 10
    assert counts[0, 0] == counts[1, 0] == 8 * 8 + 8 * 8 + 2 * 16 + head  # zero and pool: no weights
    assert counts[2, 0] == counts[0, 0] + 9 * 8 * 8  # the affine-off batchnorm adds none either
    assert counts[0, 1] == 9 * 8 * 16 + 2 * 16 + head
    zero_model = space.build(space.validate([0, 0]), seed=0).eval()
    x = torch.randn(2, 8, 16, 16)
    y = torch.randn(2, 8, 16, 16)
    assert torch.equal(zero_model.net(x), zero_model.net(y))  # the zero edge cuts the input off


_sizes = st.lists(st.integers(1, 3), max_size=3)


@settings(max_examples=300, deadline=None)
@given(_sizes, _sizes)
def test_broadcast_rule_agrees_with_multiply_on_tensors(a, b):
    da, db = tuple(map(Dim.const, a)), tuple(map(Dim.const, b))
    try:
        want = broadcast_shape(da, db)
    except ShapeError:
        want = None
    try:
        got = multiply(torch.ones(2, *a), torch.ones(2, *b)).shape[1:]
    except RuntimeError:
        got = None
    assert (want is None) == (got is None)
    if want is not None:
        assert tuple(d.int_value() for d in want) == tuple(got)
        assert broadcast_shape(db, da) == want  # symmetric
