"""Repetition (`for`, indexed nodes) and tied genes: genome layout, names, ownership and what gets built."""

from __future__ import annotations

import pytest
import torch

from pbtnas.compiler import DiagnosticError, compile_text

OPS = """
options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  skip = identity
  conv = relu >> conv(C, k=3, pad=1, bias=off) >> batchnorm
}
"""

UNTIED = OPS + """
const N = 3
block Cell[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot e: OPS(C)
  param act: [relu, tanh]
  return x >> e >> activation(act)
}
network net(x: [4, 6, 6]) -> [4, 6, 6] {
  c[0] = x
  for i in range(1, N + 1) {
    c[i] = Cell(x=c[i - 1], C=4)
  }
  return c[N]
}
"""


def codes(text: str, overrides: dict | None = None) -> list[str]:
    with pytest.raises(DiagnosticError) as info:
        compile_text(text, "t.nas", overrides)
    return [d.code for d in info.value.diagnostics]


def test_an_unrolled_loop_lays_out_genes_in_iteration_order_under_indexed_prefixes() -> None:
    space = compile_text(UNTIED)
    assert [g.name for g in space.genes] == ["net.c.1.e", "net.c.1.act", "net.c.2.e", "net.c.2.act",
                                             "net.c.3.e", "net.c.3.act"]
    assert space.genes[2].prefixes == ("net.c.2.e.",)
    keys = list(space.build([1, 0] * 3).state_dict())
    assert "net.c.2.e.1.weight" in keys  # the index is a path component, as in nn.Sequential


def test_set_changes_the_number_of_iterations() -> None:
    assert len(compile_text(UNTIED, overrides={"N": "5"}).genes) == 10
    assert len(compile_text(UNTIED, overrides={"N": "0"}).genes) == 0


def test_the_loop_variable_is_a_constant_in_expressions() -> None:
    text = """
network net(x: [2, 8, 8]) -> [16, 1, 1] {
  c[0] = x
  for i in range(1, 4) {
    c[i] = c[i - 1] >> conv(2 * 2 ** i, k=3, stride=2, pad=1)
  }
  return c[3]
}
"""
    space = compile_text(text)
    out = space.build([]).net(torch.randn(1, 2, 8, 8))
    assert out.shape == (1, 16, 1, 1)


def test_tied_instances_share_one_gene_set_and_keep_their_own_weights() -> None:
    text = UNTIED.replace("c[i] = Cell(x=c[i - 1], C=4)", "c[i] = Cell(x=c[i - 1], C=4) tied cell")
    space = compile_text(text)
    assert [g.name for g in space.genes] == ["net.cell.e", "net.cell.act"]
    assert space.size == 4
    assert space.genes[0].prefixes == ("net.c.1.e.", "net.c.2.e.", "net.c.3.e.")
    model = space.build([1, 1])
    convs = [model.net.c._modules[str(k)].e._modules["1"] for k in (1, 2, 3)]
    assert len({id(c.weight) for c in convs}) == 3  # three layers, not one shared
    skip = space.build([0, 1])
    assert not any(".e." in k for k in skip.state_dict())  # the tied gene chose `skip` in every cell
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(skip.net(x), torch.tanh(torch.tanh(torch.tanh(x))))


def test_tied_instances_may_differ_in_width() -> None:
    text = OPS + """
block Cell[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot e: OPS(C)
  return x >> e
}
network net(x: [4, 6, 6]) -> [8, 6, 6] {
  a = Cell(x=x, C=4) tied cell
  b = Cell(x=a >> conv(8, k=1), C=8) tied cell
  return b
}
"""
    space = compile_text(text)
    assert [g.name for g in space.genes] == ["net.cell.e"]
    sd = space.build([1]).state_dict()
    assert sd["net.a.e.1.weight"].shape == (4, 4, 3, 3) and sd["net.b.e.1.weight"].shape == (8, 8, 3, 3)


def test_a_tied_dimension_gene_owns_the_fixed_layers_it_shapes_in_every_instance() -> None:
    text = """
block Mlp(x: [8]) -> [8] {
  param w: [4, 16]
  return x >> linear(w) >> relu >> linear(8)
}
network net(x: [8]) -> [8] {
  a = Mlp(x=x) tied mlp
  b = Mlp(x=a) tied mlp
  return b
}
"""
    space = compile_text(text)
    (gene,) = space.genes
    assert gene.name == "net.mlp.w"
    assert set(gene.prefixes) == {f"net.{i}.return.{k}." for i in "ab" for k in (0, 2)}
    assert space.build([1]).state_dict()["net.b.return.0.weight"].shape == (16, 8)


def test_tied_slots_of_one_body_share_a_gene_and_own_their_weights() -> None:
    text = OPS + """
network net(x: [4, 6, 6]) -> [4, 6, 6] {
  slot a: OPS(4) tied edge
  slot b: OPS(4) tied edge
  slot c: OPS(4)
  return x >> a >> b >> c
}
"""
    space = compile_text(text)
    assert [g.name for g in space.genes] == ["net.edge", "net.c"]
    assert space.genes[0].prefixes == ("net.a.", "net.b.")
    keys = list(space.build([1, 0]).state_dict())
    assert any(k.startswith("net.a.") for k in keys) and any(k.startswith("net.b.") for k in keys)


def test_ties_nest_a_tied_instance_inside_a_tied_instance() -> None:
    text = OPS + """
block Edge[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot op: OPS(C)
  return x >> op
}
block Cell[H, W](x: [C, H, W], C) -> [C, H, W] {
  p = Edge(x=x, C=C) tied edge
  q = Edge(x=p, C=C) tied edge
  r = Edge(x=q, C=C)
  return r
}
network net(x: [4, 6, 6]) -> [4, 6, 6] {
  for i in range(2) {
    c[i] = Cell(x=x if i == 0 else c[i - 1], C=4) tied cell
  }
  return c[1]
}
"""
    space = compile_text(text)
    assert [g.name for g in space.genes] == ["net.cell.edge.op", "net.cell.r.op"]
    assert space.genes[0].prefixes == ("net.c.0.p.op.", "net.c.0.q.op.", "net.c.1.p.op.", "net.c.1.q.op.")


def test_reusing_a_slot_name_still_applies_the_same_slot() -> None:
    """Nothing shares weights implicitly or by a tie: applying one slot twice is what it always was."""
    text = OPS + """
network net(x: [4, 6, 6]) -> [4, 6, 6] {
  slot a: OPS(4)
  return x >> a >> a
}
"""
    space = compile_text(text)
    assert [g.prefixes for g in space.genes] == [("net.a.",)]


@pytest.mark.parametrize("body, code", [
    ("for i in range(2) { return x }\n  return x", "E0230"),
    ("for i in range(2) { param p: [1, 2] }\n  return x", "E0230"),
    ("for i in range(2.5) { c[i] = x }\n  return x", "E0230"),
    ("for i in range(-1, 2) { c[i] = x }\n  return x", "E0230"),
    ("c[0] = x\n  c[1] = x\n  c = x\n  return c[1]", "E0102"),
    ("h = x\n  h[0] = x\n  return h", "E0102"),
    ("for x in range(2) { c[x] = x }\n  return x", "E0102"),
    ("return c[0]", "E0101"),
    ("c[0] = x\n  return c[0 - 1]", "E0230"),
])
def test_repetition_mistakes_are_diagnostics(body: str, code: str) -> None:
    assert code in codes(f"network net(x: [4]) -> [4] {{\n  {body}\n}}\n")


def test_nested_loops_past_the_total_budget_are_refused() -> None:
    text = """
network net(x: [4]) -> [4] {
  for i in range(1000) {
    for j in range(1000) { c[1000 * i + j] = x }
  }
  return x
}
"""
    assert "E0230" in codes(text)
