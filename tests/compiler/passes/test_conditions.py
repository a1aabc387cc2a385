"""The conditions pass: the condition of `x if cond` -> decided at compile time, or guards over genes.

It reads constants (and, for a pick's position, the static pass); it hands the tensors pass the DNFs under which
the condition holds and fails, and the condition's IR, which the builder evaluates per genome.
"""

from __future__ import annotations

from pbtnas.compiler.conditions import const_cond
from pbtnas.compiler.guards import Cube
from pbtnas.compiler.ir import MIXED, GeneDef, Scope

SPACE = """
const deep = on
const N = 3
network net(x: [4]) -> [4] {
  a = x if deep
  b = x if N in [2, 3]
  c = x if g in [p, r]
  d = x if not g == q
  e = x if g in [z]
  f = x if g
  h = x if deep and g == p
  i = x if g != q
  return x
}
"""


def _setup(passes):
    p = passes(SPACE)
    gene = GeneDef("net.g", "param", ["p", "q", "r"], ["p", "q", "r"], p.module.span)
    p.layout.register(gene)
    return p, gene, Scope("net", "", {"g": gene}), {k: v.cond for k, v in p.exprs().items() if k != "x"}


def test_conditions_on_constants_are_decided_at_compile_time(passes):
    p, gene, scope, cond = _setup(passes)
    assert const_cond(cond["a"], scope, p.decls.consts, p.report) is True
    assert const_cond(cond["b"], scope, p.decls.consts, p.report) is True
    assert const_cond(cond["c"], scope, p.decls.consts, p.report) is MIXED
    assert p.conditions.guards(cond["a"], scope)[0] == [Cube()]  # true for every genome
    assert not gene.used


def test_a_gene_condition_becomes_guards_over_its_options(passes):
    p, gene, scope, cond = _setup(passes)
    true, false, ir = p.conditions.guards(cond["c"], scope)
    assert true == [Cube.of(gene, {0, 2}, 3)] and false == [Cube.of(gene, {1}, 3)]
    assert ir == {"t": "gene_in", "gene": gene, "options": [0, 2]}
    assert gene.used
    true, false, ir = p.conditions.guards(cond["d"], scope)  # `not g == q`
    assert true == [Cube.of(gene, {0, 2}, 3)] and ir["t"] == "not"
    true, false, ir = p.conditions.guards(cond["i"], scope)  # `g != q`: one cube, no `not` left for the builder
    assert true == [Cube.of(gene, {0, 2}, 3)] and ir == {"t": "gene_in", "gene": gene, "options": [0, 2]}


def test_a_constant_beside_a_gene_keeps_only_the_gene(passes):
    p, gene, scope, cond = _setup(passes)
    true, false, _ = p.conditions.guards(cond["h"], scope)
    assert true == [Cube.of(gene, {0}, 3)]


def test_unknown_options_and_non_switch_genes_are_diagnostics(passes):
    p, gene, scope, cond = _setup(passes)
    assert p.conditions.guards(cond["e"], scope) is None
    assert "`z` is not an option of `net.g`" in p.find("E0106").message
    assert p.conditions.guards(cond["f"], scope) is None
    assert p.find("E0213").expected == "[off, on]"
