"""Arithmetic on genes in integer op arguments (issue 16): `conv(C * e, k=k, pad=(k - 1) // 2, groups=C * e)`.

The argument stays exact through the shape rules, is validated at every option, shapes the weights it sizes (the
gene owns and links the layer like a dimension gene), and the builder substitutes the genome's values.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbtnas.compiler import DiagnosticError, compile_text

INVERTED_BOTTLENECK = """
space mb
const C = 8
network net(x: [8, 12, 12]) -> [8, 12, 12] {
  param k: [3, 5, 7]
  param e: [3, 4, 6]
  h = x >> conv(C * e, k=1) >> relu
  d = h >> conv(C * e, k=k, pad=(k - 1) // 2, groups=C * e) >> relu
  return d >> conv(C, k=1)
}
"""


def _genomes(space):
    return itertools.product(*[range(len(g.options)) for g in space.genes])


def test_inverted_bottleneck_builds_exactly_what_the_arithmetic_says():
    space = compile_text(INVERTED_BOTTLENECK)
    assert space.size == 9
    x = torch.randn(2, 8, 12, 12)
    for genome in _genomes(space):
        k, e = (space.genes[i].values[v] for i, v in enumerate(genome))
        model = space.build(genome)
        depthwise = model.get_submodule("net.d.0")
        assert depthwise.kernel_size == (k, k)
        assert depthwise.padding == ((k - 1) // 2, (k - 1) // 2)
        assert depthwise.groups == 8 * e and depthwise.in_channels == depthwise.out_channels == 8 * e
        assert depthwise.weight.shape == (8 * e, 1, k, k)
        assert model.net(x).shape == x.shape


def test_kernel_and_expansion_genes_own_and_link_the_layers_they_shape():
    space = compile_text(INVERTED_BOTTLENECK)
    k, e = space.gene("net.k"), space.gene("net.e")
    assert k.owns_weights and e.owns_weights
    assert "net.d.0." in k.prefixes  # the kernel gene shapes the depthwise weight [C*e, 1, k, k]
    assert "net.h.0." in e.prefixes and "net.return.0." in e.prefixes
    assert k.linked == (e.index,) and e.linked == (k.index,)


@pytest.mark.parametrize("args, code, words", [
    ("k=k, pad=(k - 5) // 2", "E0106", "`net.k` = 3: less than 0"),
    ("k=k, pad=(k - 1) // 2, groups=16", "E0206", "groups=16 does not divide"),
    ("k=k - 3, pad=0", "E0106", "argument `k` of `conv` is 0"),
    ("k=k, pad=(k - 1) / 4", "E0106", "not an integer"),
    ("k=k, pad=(k - 1) // 2, stride=k - 3", "E0106", "argument `stride`"),
    ("k=k, pad=-1", "E0106", "argument `pad` of `conv` is -1: less than 0"),
])
def test_invalid_at_some_option_is_a_diagnostic_naming_it(args: str, code: str, words: str):
    text = INVERTED_BOTTLENECK.replace("k=k, pad=(k - 1) // 2, groups=C * e", args)
    with pytest.raises(DiagnosticError) as err:
        compile_text(text)
    assert any(d.code == code and words in d.message for d in err.value.diagnostics), \
        [str(d) for d in err.value.diagnostics]


def test_a_stride_gene_on_a_shape_variable_is_refused_not_guessed():
    text = """
space s
options DOWN[H, W](s): [4, H, W] -> [4, H, W] {
  c = conv(4, k=3, pad=1, stride=s)
}
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  param s: [1, 2]
  slot d: DOWN(s=s)
  return d(x)
}
"""
    for stride in ("s", "s + 0"):
        with pytest.raises(DiagnosticError) as err:
            compile_text(text.replace("stride=s", f"stride={stride}"))
        assert "E0215" in {d.code for d in err.value.diagnostics}


# ---- property: random gene expressions as `pad=` ----------------------------------------------------------------

A, B = (1, 3, 5), (0, 2)
_leaf = st.one_of(st.sampled_from(["a", "b"]), st.integers(0, 4).map(str))


def _tree(children):
    return st.tuples(st.sampled_from(["+", "-", "*", "//", "%"]), children, children)


EXPR = st.recursive(_leaf, _tree, max_leaves=5)


def _text(e) -> str:
    return e if isinstance(e, str) else f"({_text(e[1])} {e[0]} {_text(e[2])})"


def _value(e, a: int, b: int) -> int:
    if isinstance(e, str):
        return {"a": a, "b": b}.get(e, None) if e in "ab" else int(e)
    left, right = _value(e[1], a, b), _value(e[2], a, b)
    return {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
            "//": lambda: left // right, "%": lambda: left % right}[e[0]]()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPR)
def test_built_padding_is_pythons_arithmetic(expr):
    text = f"""
space prop
network net(x: [2, 6, 6]) -> [2] {{
  param a: [{', '.join(map(str, A))}]
  param b: [{', '.join(map(str, B))}]
  return x >> conv(2, k=3, pad={_text(expr)}) >> global_avg_pool
}}
"""
    try:
        expected = {(i, j): _value(expr, a, b) for (i, a), (j, b) in itertools.product(enumerate(A), enumerate(B))}
    except ZeroDivisionError:
        expected = None
    valid = expected is not None and all(0 <= v <= 12 for v in expected.values())
    try:
        space = compile_text(text)
    except DiagnosticError as err:
        codes = {d.code for d in err.diagnostics if d.severity == "error"}
        assert not valid or any(v > 12 for v in expected.values()), (text, codes)
        assert codes <= {"E0105", "E0106", "E0206", "E0214", "E0215"}, codes
        return
    assert expected is not None and all(v >= 0 for v in expected.values()), text
    if not valid:
        return  # a large but valid padding: not worth building
    assert [g.name for g in space.genes] == ["net.a", "net.b"]
    for i, j in itertools.product(range(len(A)), range(len(B))):
        genome = (i, j)
        conv = space.build(genome).get_submodule("net.return.0")
        assert conv.padding == (expected[(i, j)],) * 2, (text, genome)
