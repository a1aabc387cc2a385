"""The tensors pass: a tensor expression in a scope -> its value (shapes under guards) and its IR.

It reads layer values from the static pass and guards from the conditions pass; it hands the instances pass
(TVal, IR) pairs and records every op it applies in the genome layout's op table, with the shapes it was
checked at (the layout's whole-program weight check reads them).
"""

from __future__ import annotations

from pbtnas.compiler.guards import TVal
from pbtnas.compiler.ir import GeneDef, PathCounter, Scope, TensorRef
from pbtnas.layers.dims import Dim

SPACE = """
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  conv = x >> conv(8, k=3, pad=1, stride=2)
  added = x + x
  gated = x * (x >> global_avg_pool)
  maybe = x >> relu if g == b
  fallback = (x >> relu if g == b) ?? x
  mismatch = x + (x >> conv(8, k=1))
  too_small = x >> conv(8, k=9)
  return x
}
"""


def _shape(*sizes: int) -> tuple[Dim, ...]:
    return tuple(Dim.const(s) for s in sizes)


def _setup(passes):
    p = passes(SPACE)
    gene = GeneDef("net.g", "param", ["a", "b"], ["a", "b"], p.module.span)
    p.layout.register(gene)
    scope = Scope("net", "", {"x": TensorRef("x", TVal.present(_shape(4, 8, 8))), "g": gene})
    return p, scope, p.exprs()


def _infer(p, scope, exprs, name):
    return p.tensors.tensor(exprs[name], scope, PathCounter(f"net.{name}"), {})


def test_a_layer_application_gives_its_shape_ir_and_op_record(passes):
    p, scope, exprs = _setup(passes)
    value, ir = _infer(p, scope, exprs, "conv")
    assert value.shapes == [_shape(8, 4, 4)] and not value.maybe_absent
    assert ir["t"] == "apply" and ir["x"] == {"t": "var", "name": "x"}
    rec = p.layout.ops["net.conv.0"]
    assert rec.spec.name == "conv" and rec.in_shapes == [_shape(4, 8, 8)]
    # what sizes its weights (in and out channels, kernel, groups), for the layout's "one shape per genome" check
    assert rec.param_dims == [_shape(4, 8, 3, 1)]
    assert p.codes() == []


def test_sums_and_products_combine_shapes(passes):
    p, scope, exprs = _setup(passes)
    assert _infer(p, scope, exprs, "added")[0].shapes == [_shape(4, 8, 8)]
    value, ir = _infer(p, scope, exprs, "gated")
    assert value.shapes == [_shape(4, 8, 8)] and ir["t"] == "mul"


def test_a_condition_on_a_gene_makes_the_tensor_absent_for_the_other_options(passes):
    p, scope, exprs = _setup(passes)
    gene = scope.names["g"]
    maybe, _ = _infer(p, scope, exprs, "maybe")
    assert maybe.maybe_absent and not maybe.always_absent
    absent = [a for a in maybe.alts if a.shape is None]
    assert [a.guard.as_dict() for a in absent] == [{gene: frozenset({0})}]  # absent when g = a
    fallback, ir = _infer(p, scope, exprs, "fallback")
    assert not fallback.maybe_absent and fallback.shapes == [_shape(4, 8, 8)] and ir["t"] == "otherwise"


def test_shape_mistakes_are_diagnostics_and_the_value_an_error_placeholder(passes):
    p, scope, exprs = _setup(passes)
    _infer(p, scope, exprs, "mismatch")
    mismatch = p.find("E0205")
    assert mismatch.span.line == 8
    _infer(p, scope, exprs, "too_small")
    assert "`conv` cannot take this input" in p.find("E0206").message
