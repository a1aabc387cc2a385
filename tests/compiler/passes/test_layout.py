"""The layout: the genome (genes in declaration order) and the op table, and the whole-program checks.

The other passes fill it; after the walk it reads the op table to prove each module's weights have one shape for
every genome (E0208), and names genes nothing reads (W0301) unless a failed statement hid their use.
"""

from __future__ import annotations

from pbtnas.compiler.ir import GeneDef, OpRecord
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import Reporter
from pbtnas.dsl.diagnostics import Collector, Span
from pbtnas.layers.dims import Dim
from pbtnas.layers.ops import get_op

SPAN = Span.point(1, 1)


def _gene(name: str) -> GeneDef:
    return GeneDef(name, "param", ["a", "b"], ["a", "b"], SPAN)


def test_genes_are_placed_once_in_declaration_order():
    layout = GenomeLayout()
    a, b = layout.register(_gene("net.a")), layout.register(_gene("net.b"))
    assert layout.n_options == {a: 2, b: 2}
    assert layout.place(b) and layout.place(a) and not layout.place(b)
    assert layout.genes == [b, a] and (b.index, a.index) == (0, 1)


def test_weights_of_one_shape_for_every_genome_pass():
    layout, diag = GenomeLayout(), Collector()
    rec = layout.ops.setdefault("net.y.0", OpRecord("net.y.0", get_op("conv"), span=SPAN))
    rec.param_dims += [(Dim.const(4), Dim.const(8)), (Dim.const(4), Dim.const(8))]
    layout.check_ops(Reporter(diag))
    assert diag.items == []


def test_weights_that_change_shape_between_genomes_are_reported():
    layout, diag = GenomeLayout(), Collector()
    rec = layout.ops.setdefault("net.y.0", OpRecord("net.y.0", get_op("conv"), span=SPAN))
    rec.param_dims += [(Dim.const(4), Dim.const(8)), (Dim.const(6), Dim.const(8))]
    generic = layout.ops.setdefault("net.z.0", OpRecord("net.z.0", get_op("linear"), span=SPAN))
    generic.param_dims.append((Dim.sym("$net.c.H"),))
    layout.check_ops(Reporter(diag))
    assert [d.code for d in diag.items] == ["E0208", "E0208"]
    assert "`net.y.0` would change shape" in diag.items[0].message and diag.items[0].found == "[4, 8] vs [6, 8]"
    assert "depend on the shape variable `H`" in diag.items[1].message


def test_unused_genes_are_warned_of_unless_a_failed_statement_read_them():
    layout, diag = GenomeLayout(), Collector()
    used, unused, hidden = (layout.register(_gene(n)) for n in ("net.used", "net.unused", "net.c.hidden"))
    for g in (used, unused, hidden):
        layout.place(g)
    used.used = True
    layout.warn_unused(Reporter(diag), hidden={"hidden"})
    assert [(d.code, d.message) for d in diag.items] == [("W0301", "gene `net.unused` is declared but never used")]
