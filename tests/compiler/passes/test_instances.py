"""The instances pass: a network declaration -> its `NetworkIR`, with block instances expanded in place.

It reads the declarations and drives the other passes over each statement; it hands the driver the network's
statements and result IR, and leaves in the layout the genome (genes in declaration order, each instance with its
own genes under its prefix) and the op table.
"""

from __future__ import annotations

from pbtnas.layers.dims import Dim

SPACE = """
options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  skip = identity
  conv = conv(C, k=3, pad=1)
}
block Cell[H, W](x: [4, H, W]) -> [4, H, W] {
  slot op: OPS(4)
  y = x >> op
  return y + x
}
network net(x: [4, 8, 8]) -> [4, 4, 4] {
  param act: [relu, tanh]
  c1 = Cell(x=x)
  d = c1 >> activation(act) >> max_pool(2)
  c2 = Cell(x=d)
  return c2
}
"""


def test_a_network_is_walked_into_ir_with_instances_expanded(passes):
    p = passes(SPACE)
    net = p.blocks.network(p.decls.networks[0])
    assert p.codes() == []
    assert net.inputs == ["x"] and net.output_shapes == [[tuple(Dim.const(s) for s in (4, 4, 4))]]
    assert [var for var, _ in net.stmts] == ["c1/x", "c1/y", "c1", "d", "c2/x", "c2/y", "c2"]
    assert net.result == {"t": "var", "name": "c2"}
    # genome order is declaration order, each instance with its own gene under its prefix
    assert [g.name for g in p.layout.genes] == ["net.act", "net.c1.op", "net.c2.op"]
    assert [g.index for g in p.layout.genes] == [0, 1, 2]
    # the block was checked at 8x8 and at 4x4: its ops are recorded per instance path
    assert p.layout.ops["net.c1.op.0#1"].in_shapes[0][1] == Dim.const(8)
    assert p.layout.ops["net.c2.op.0#1"].in_shapes[0][1] == Dim.const(4)
    assert p.blocks.reached == {"Cell"}


def test_an_argument_that_does_not_fit_the_block_is_reported_at_the_argument(passes):
    p = passes(SPACE.replace("c2 = Cell(x=d)", "c2 = Cell(x=d >> conv(8, k=1))"))
    assert p.blocks.network(p.decls.networks[0]) is None
    d = p.find("E0202")
    assert d.found == "[8, 4, 4]" and d.expected == "[4, H, W]" and d.span.line == 15  # the `c2 = ...` line


def test_a_block_that_instantiates_itself_is_refused(passes):
    text = SPACE.replace("  return y + x", "  z = Cell(x=y)\n  return z")
    p = passes(text)
    p.blocks.network(p.decls.networks[0])
    assert p.find("E0210").notes == ("Cell -> Cell",)
