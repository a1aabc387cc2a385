"""The genes pass: `slot` / `param` statements -> genes, and the proof that every option of a slot fits it.

It reads the declarations (value lists, option groups) and asks the static and tensors passes to evaluate and
apply each option; it hands the instances pass one `GeneDef` per gene (registered with the layout, placed in the
genome by the walk) carrying its checked interface and per-option IR for the tensors pass to apply.
"""

from __future__ import annotations

from pbtnas.compiler.ir import Scope
from pbtnas.dsl import ast

SPACE = """
values WIDTHS = [8, 16]
options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  skip = identity
  conv = conv(C, k=3, pad=1)
  off = none
}
options BAD[H, W](C): [C, H, W] -> [C, H, W] {
  shrink = conv(C, k=3)
}
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  slot op: OPS(4)
  param w: WIDTHS
  slot wrong: BAD(4)
  param missing: NOPE
  return x
}
"""


def _stmts(p) -> dict[str, ast.Node]:
    net = p.decls.networks[0]
    return {s.name: s for s in net.body if not isinstance(s, (ast.Assign, ast.Return))}


def test_declare_hands_a_registered_gene_not_yet_in_the_genome(passes):
    p = passes(SPACE)
    stmts, scope = _stmts(p), Scope("net", "", {})
    op = p.genes.declare(stmts["op"], scope)
    assert (op.name, op.kind, op.options) == ("net.op", "slot", ["skip", "conv", "off"])
    assert p.layout.n_options[op] == 3 and op.index == -1 and p.layout.genes == []
    assert p.genes.declare(stmts["op"], scope) is op  # an instance checked again keeps its gene
    w = p.genes.declare(stmts["w"], scope)
    assert w.numeric and p.layout.domains["net.w"] == (8, 16)  # exact arithmetic on `w` reads its options


def test_check_slot_proves_every_option_for_every_input_size(passes):
    p = passes(SPACE)
    stmts, scope = _stmts(p), Scope("net", "", {})
    op = p.genes.declare(stmts["op"], scope)
    p.genes.check_slot(op, stmts["op"], scope)
    assert p.codes() == []
    assert [str(d) for d in op.in_pattern] == ["4", "H", "W"] and op.out_pattern == op.in_pattern  # generic in H, W
    assert op.none_options == frozenset({2}) and op.weighted_options == {1}
    assert [ir["t"] for ir in op.option_layers] == ["identity", "op", "none"]
    assert [(path, option) for path, option, *_ in op.option_ops] == [("net.op.0", 1)]
    assert "OPS" in p.genes.reached  # unreached.py leaves the groups a slot checked alone


def test_an_option_that_breaks_the_interface_is_reported_with_both_shapes(passes):
    p = passes(SPACE)
    stmts, scope = _stmts(p), Scope("net", "", {})
    wrong = p.genes.declare(stmts["wrong"], scope)
    p.genes.check_slot(wrong, stmts["wrong"], scope)
    d = p.find("E0201")
    assert "option `shrink` of slot `wrong`" in d.message
    assert d.found == "[4, H - 2, W - 2]" and d.expected == "[4, H, W]"


def test_an_undefined_value_list_is_reported_and_no_gene_made(passes):
    p = passes(SPACE)
    assert p.genes.declare(_stmts(p)["missing"], Scope("net", "", {})) is None
    assert "undefined value list `NOPE`" in p.find("E0101").message
    assert p.layout.n_options == {}
