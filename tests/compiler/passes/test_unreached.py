"""The unreached pass: names in declarations no network reached, and in statements an error cut short.

It reads the module and the set of option groups and blocks the walk reached; it reports unresolved names (E0101),
unknown ops (E0103) and unknown op arguments (E0104) there, and hands the layout the names failed statements read
(so their genes are not called unused).
"""

from __future__ import annotations

from pbtnas.compiler.messages import Reporter
from pbtnas.compiler.unreached import NameWalk, check_unreached, failed_statements, reads
from pbtnas.dsl.diagnostics import Collector
from pbtnas.dsl.parser import parse

SPACE = """
const C = 4
options UNUSED[H, W](k): [C, H, W] -> [C, H, W] {
  a = conv(C, k=k, pad=1, padding=1) >> frobnicate >> upsample(2, mode=nearest)
}
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  param g: [1, 2]
  y = x >> conv(C * g, k=3) >> unknown_op(2)
  z = y >> relu
  return x
}
"""


def _decl(module, name):
    return next(d for d in module.decls if getattr(d, "name", None) == name)


def _report():
    diag = Collector()
    return diag, Reporter(diag).error


def test_one_walk_collects_what_an_expression_reads():
    module = parse(SPACE)
    option = _decl(module, "UNUSED").options[0].expr
    assert reads([option]) >= {"C", "k", "frobnicate", "nearest"}  # a literal is read, not resolved


def test_an_unreached_group_is_checked_by_name():
    diag, report = _report()
    module = parse(SPACE)
    check_unreached(module, set(), ["C"], [], report)
    found = {(d.code, d.message, d.hint) for d in diag.items}
    assert ("E0104", "`conv` has no argument `padding`", "did you mean `pad`?") in found
    assert ("E0101", "undefined name `frobnicate`", None) in found
    assert not any("nearest" in d.message for d in diag.items)  # `mode=nearest` is a literal
    diag, report = _report()
    check_unreached(module, {"UNUSED"}, ["C"], [], report)
    assert diag.items == []  # a reached group was checked by the walk itself


def test_failed_statements_hide_their_genes_and_report_second_mistakes():
    diag, report = _report()
    module = parse(SPACE)
    y = _decl(module, "net").body[1]
    hidden = failed_statements(module, [y.span], ["C"], [], report)
    assert {"g", "y", "x", "C"} <= hidden  # `z` reads `y`, which failed: its names are hidden too
    assert [d.code for d in diag.items] == ["E0103"] and "unknown_op" in diag.items[0].message
    assert failed_statements(module, [], ["C"], [], report) == set()


def test_a_walk_without_a_scope_reports_nothing():
    walk = NameWalk()
    walk.visit(_decl(parse(SPACE), "UNUSED").options[0].expr)
    assert "frobnicate" in walk.reads
