"""The sequence ops (pbtnas/layers/sequence.py, linear on any rank): for concrete sizes drawn by hypothesis, the
symbolic shape rule the compiler proves with is the shape the torch module produces, and the rule refuses exactly
the inputs torch cannot take (a kernel longer than the signal, heads that do not divide the width, patches that do
not tile the image)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pbtnas.compiler import compile_text
from pbtnas.layers import ShapeError, get_op
from pbtnas.layers.dims import Dim

SMALL = st.integers(1, 12)
FAST = settings(max_examples=40, deadline=None)


def _args(name: str, **given_args) -> dict:
    spec = get_op(name)
    full = {a.name: a.default for a in spec.args}
    full.update(given_args)
    return full


def rule(name: str, shape: tuple[int, ...], **args) -> tuple[int, ...]:
    out = get_op(name).shape(tuple(Dim.const(s) for s in shape), _args(name, **args))
    return tuple(d.int_value() for d in out)


def run(name: str, shape: tuple[int, ...], x: torch.Tensor | None = None, **args) -> tuple[int, ...]:
    module = get_op(name).build(shape, _args(name, **args))
    with torch.no_grad():
        return tuple(module(torch.randn(2, *shape) if x is None else x).shape[1:])


@FAST
@given(c=SMALL, length=st.integers(1, 30), out=SMALL, k=st.integers(1, 9), stride=st.integers(1, 4),
       pad=st.integers(0, 3), dilation=st.integers(1, 3))
def test_conv1d(c, length, out, k, stride, pad, dilation):
    args = dict(out=out, k=k, stride=stride, pad=pad, dilation=dilation)
    if dilation * (k - 1) + 1 > length + 2 * pad:  # no output position: the rule refuses, torch fails at run time
        with pytest.raises(ShapeError, match="longer than the signal"):
            rule("conv1d", (c, length), **args)
        with pytest.raises(RuntimeError):
            run("conv1d", (c, length), **args)
        return
    assert rule("conv1d", (c, length), **args) == run("conv1d", (c, length), **args)


@FAST
@given(op=st.sampled_from(["max_pool1d", "avg_pool1d"]), c=SMALL, length=st.integers(1, 30), k=st.integers(1, 6),
       stride=st.integers(0, 4), pad=st.integers(0, 3))
def test_pool1d(op, c, length, k, stride, pad):
    args = dict(k=k, stride=stride, pad=pad)
    if 2 * pad > k:  # torch's limit on a pool's padding, refused by the rule instead of when the network runs
        with pytest.raises(ShapeError, match="more than half the kernel"):
            rule(op, (c, length), **args)
        with pytest.raises(RuntimeError):
            run(op, (c, length), **args)
        return
    if k > length + 2 * pad:
        with pytest.raises(ShapeError, match="longer than the signal"):
            rule(op, (c, length), **args)
        return
    assert rule(op, (c, length), **args) == run(op, (c, length), **args)


@FAST
@given(shape=st.lists(SMALL, min_size=1, max_size=3).map(tuple), out=SMALL)
def test_linear_on_the_last_dimension(shape, out):
    assert rule("linear", shape, out=out) == run("linear", shape, out=out) == (*shape[:-1], out)


@FAST
@given(shape=st.lists(SMALL, min_size=1, max_size=2).map(tuple))
def test_batchnorm1d_and_layernorm_keep_the_shape(shape):
    for op in ("batchnorm1d", "layernorm"):
        assert rule(op, shape) == run(op, shape) == shape


@FAST
@given(shape=st.lists(SMALL, min_size=2, max_size=4).map(tuple))
def test_transpose_swaps_the_last_two(shape):
    assert rule("transpose", shape) == run("transpose", shape)


@FAST
@given(tokens=SMALL, width=SMALL)
def test_token_ops(tokens, width):
    shape = (tokens, width)
    for op in ("mean_tokens", "first_token", "pos_embed", "cls_token"):
        assert rule(op, shape) == run(op, shape)
    x = torch.randn(2, tokens, width)
    assert torch.equal(get_op("first_token").build(shape, {})(x), x[:, 0])
    assert torch.allclose(get_op("mean_tokens").build(shape, {})(x), x.mean(dim=1))


@FAST
@given(tokens=SMALL, width=st.integers(1, 24), heads=st.integers(1, 8))
def test_attention_heads_must_divide_the_width(tokens, width, heads):
    if width % heads:
        with pytest.raises(ShapeError, match="does not divide the width"):
            rule("attention", (tokens, width), heads=heads)
        with pytest.raises(AssertionError):  # torch's MultiheadAttention checks it when the module is made
            run("attention", (tokens, width), heads=heads)
        return
    assert rule("attention", (tokens, width), heads=heads) == run("attention", (tokens, width), heads=heads)


@FAST
@given(c=st.integers(1, 4), h=st.integers(1, 20), w=st.integers(1, 20), out=SMALL, patch=st.integers(1, 6))
def test_patch_embed_tiles_the_image(c, h, w, out, patch):
    if h % patch or w % patch:
        with pytest.raises(ShapeError, match="does not divide the image"):
            rule("patch_embed", (c, h, w), out=out, patch=patch)
        return
    assert rule("patch_embed", (c, h, w), out=out, patch=patch) == run("patch_embed", (c, h, w), out=out,
                                                                        patch=patch)


def test_patch_embed_orders_patches_row_by_row():
    module = get_op("patch_embed").build((1, 4, 4), _args("patch_embed", out=1, patch=2))
    with torch.no_grad():
        module.weight.fill_(1.0)
        module.bias.zero_()
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # patch sums, top-left, top-right, bottom-left, bottom-right
    assert module(x).flatten().tolist() == [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]


@FAST
@given(shape=st.lists(SMALL, min_size=1, max_size=2).map(tuple), vocab=st.integers(1, 50), out=SMALL)
def test_embedding_takes_ids_as_integers_or_whole_floats(shape, vocab, out):
    ids = torch.randint(0, vocab, (2, *shape))
    expected = rule("embedding", shape, vocab=vocab, out=out)
    assert run("embedding", shape, ids, vocab=vocab, out=out) == expected == (*shape, out)
    module = get_op("embedding").build(shape, _args("embedding", vocab=vocab, out=out))
    assert torch.equal(module(ids), module(ids.float()))


def test_embedding_refuses_fractions_and_ids_out_of_range():
    module = get_op("embedding").build((3,), _args("embedding", vocab=5, out=2))
    with pytest.raises(ValueError, match="whole numbers"):
        module(torch.tensor([[0.0, 1.5, 2.0]]))
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        module(torch.tensor([[0, 1, 5]]))


def test_rules_over_a_shape_variable_agree_with_every_size():
    """The compiler proves a slot for every length at once: the symbolic rule at `$L`, given a size, is the rule at
    that size (conv1d 'same' padding keeps L; a stride-2 pool halves it under the obligation that 2 divides L)."""
    length = Dim.sym("$L")
    same = get_op("conv1d").shape((Dim.const(4), length), _args("conv1d", out=8, k=5, pad=2))
    halved = get_op("max_pool1d").shape((Dim.const(4), length), _args("max_pool1d", k=2))
    for n in (6, 10, 40):
        at = {"$L": Dim.const(n)}
        assert tuple(d.subst(at).int_value() for d in same) == run("conv1d", (4, n), out=8, k=5, pad=2)
        assert tuple(d.subst(at).int_value() for d in halved) == run("max_pool1d", (4, n), k=2)


def test_init_conv_covers_conv1d_and_patch_embed():
    space = compile_text("space i\ninit conv = constant(value=0.5, bias=0)\n"
                         "network n(x: [3, 8, 8]) -> [4] {\n"
                         "  t = x >> patch_embed(4, patch=4) >> transpose >> conv1d(2, k=1)\n"
                         "  return t >> flatten >> linear(4)\n}\n", "init.nas")
    state = space.build(space.validate([]), seed=0).state_dict()
    for key in ("n.t.0.weight", "n.t.2.weight"):
        assert torch.all(state[key] == 0.5), key
    assert not torch.all(state["n.return.1.weight"] == 0.5)  # linear keeps torch's default
