"""The static pass: an expression in a scope -> a compile-time value (Dim, number, name, gene, layer value).

It reads the declarations' constants and blocks; it hands the tensors and genes passes layer values whose op
arguments are bound to the op's signature and coerced to their kinds, so no later pass re-checks an argument.
"""

from __future__ import annotations

from pbtnas.compiler.ir import GeneDef, OpL, Scope, SeqL, SlotL
from pbtnas.layers.dims import Dim

SPACE = """
const C = 8
network net(x: [C, 8, 8]) -> [C, 8, 8] {
  size = 2 * C + 1
  half = H // 2
  layer = conv(C, k=3, pad=1)
  pipe = relu >> conv(2 * C, k=1)
  gene = g
  bad_type = conv(C, k=1.5)
  bad_name = conv(C, kk=3)
  bad_op = convv(C)
  return x
}
"""


def _scope(**names) -> Scope:
    return Scope("net", "", dict(names))


def test_numbers_and_shapes_are_dims(passes):
    p = passes(SPACE)
    e = p.exprs()
    assert p.static.evaluate(e["size"], _scope()) == Dim.const(17)
    half = p.static.evaluate(e["half"], _scope(H=Dim.sym("$H")))
    assert not half.is_const and half.symbols == {"$H"}
    assert p.codes() == []


def test_a_layer_is_handed_on_with_bound_and_coerced_arguments(passes):
    p = passes(SPACE)
    e = p.exprs()
    layer = p.static.evaluate(e["layer"], _scope())
    assert isinstance(layer, OpL) and layer.spec.name == "conv"
    assert layer.args["out"] == Dim.const(8) and layer.args["k"] == 3 and layer.args["pad"] == 1
    pipe = p.static.evaluate(e["pipe"], _scope())
    assert isinstance(pipe, SeqL) and [op.spec.name for op in pipe.items] == ["relu", "conv"]
    assert pipe.items[1].args["out"] == Dim.const(16)


def test_a_gene_name_is_read_and_marked_used(passes):
    p = passes(SPACE)
    slot = GeneDef("net.g", "slot", ["a"], ["a"], p.module.span)
    value = p.static.evaluate(p.exprs()["gene"], _scope(g=slot))
    assert isinstance(value, SlotL) and value.gene is slot and slot.used


def test_bad_arguments_are_diagnostics_not_values(passes):
    p = passes(SPACE)
    e = p.exprs()
    assert p.static.evaluate(e["bad_type"], _scope()) is None
    wrong = p.find("E0105")
    assert "argument `k` of `conv` has the wrong type" in wrong.message and wrong.found == "`1.5`"
    assert p.static.evaluate(e["bad_name"], _scope()) is None
    assert p.find("E0104").hint == "did you mean `k`?"
    assert p.static.evaluate(e["bad_op"], _scope()) is None
    assert p.find("E0103").hint == "did you mean `conv`?"
