"""Picks in tied instances and layers routed by a pick (pbtnas/compiler/routing.py, picks.py).

A branch of a condition on picks is the op an edge applies to the input the genome chose: the genome has the
layers of the branch its picks take, never those of the other (DARTS's stride-2 op on a cell input, stride-1 on a
node). Conditions on anything else keep every branch's layers, as the paper spaces need."""

from __future__ import annotations

import itertools

import torch

from pbtnas.compiler import compile_text
from pbtnas.compiler.builder import count_parameters
from pbtnas.engine.mixing import close_over_links

ROUTED = """
space routed
options KEEP[H, W]: [4, H, W] -> [4, H, W] {
  conv = conv(4, k=3, pad=1, bias=off)
  skip = identity
}
options DOWN[H, W]: [4, H, W] -> [4, H // 2, W // 2] {
  conv = conv(4, k=3, stride=2, pad=1, bias=off)
  skip = factorized_reduce(4)
}
network net(x: [4, 8, 8]) -> [4, 4, 4] {
  s0 = x >> conv(4, k=1, bias=off)
  n0 = x >> max_pool(2)
  pick in: 1 of [s0, n0]
  slot e_down: DOWN tied e
  slot e_keep: KEEP tied e
  y = e_down(in[0]) if in[0] in [s0] else e_keep(in[0])
  return y + n0
}
"""


def _keys(space, genome) -> set[str]:
    return {k.rsplit(".", 1)[0] for k in space.build(genome).state_dict()}


def test_only_the_branch_the_pick_takes_has_layers():
    space = compile_text(ROUTED)
    assert [g.name for g in space.genes] == ["net.in", "net.e"]
    conv = space.genes[1].options.index("conv")
    assert _keys(space, (0, conv)) == {"net.s0.0", "net.e_down.0"}     # s0 reaches the edge: stride 2
    assert _keys(space, (1, conv)) == {"net.s0.0", "net.e_keep.0"}     # n0 reaches it: stride 1
    assert _keys(space, (1, 1)) == {"net.s0.0"}                        # identity on n0: no layers at all
    assert count_parameters(space.build((0, 1))) == 16 + 2 * 4 * 2 + 2 * 4  # 1x1 conv, two halves, BN
    for genome in itertools.product(range(2), range(2)):
        assert space.build(genome).net(torch.randn(2, 4, 8, 8)).shape == (2, 4, 4, 4)


def test_a_routed_slot_travels_with_its_pick():
    space = compile_text(ROUTED)
    assert close_over_links(space.genes, [0]) == (0, 1)
    assert space.genes[1].prefixes == ("net.e_down.", "net.e_keep.")


def test_a_fixed_layer_under_a_pick_branch_belongs_to_the_pick():
    space = compile_text(ROUTED.replace(
        "e_keep(in[0])", "e_keep(in[0] >> conv(4, k=1, bias=off))"))
    (prefix,) = space.genes[0].prefixes
    assert prefix.startswith("net.y.")
    assert not any(k.startswith(prefix) for k in space.build((0, 0)).state_dict())  # s0 chosen: not on its path
    assert any(k.startswith(prefix) for k in space.build((1, 0)).state_dict())


def test_a_condition_on_an_on_off_gene_keeps_both_branches_layers():
    space = compile_text("""
space flags
network net(x: [4]) -> [4] {
  param down: [off, on]
  return x >> linear(4) if down else x >> linear(4) >> relu
}
""")
    keys = [k for k in space.build((0,)).state_dict() if k.endswith("weight")]
    assert len(keys) == 2  # a branch switched off by a flag keeps its weights (the paper's reference does)


def test_tied_instances_share_one_pick_gene():
    space = compile_text("""
space tied_picks
block Node[H, W](a: [4, H, W], b: [4, H, W]) -> [4, H, W] {
  pick inputs: 1 of [a, b]
  slot op: [4, H, W] -> [4, H, W] { conv = conv(4, k=3, pad=1), skip = identity }
  return op(inputs[0])
}
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  c[0] = x >> conv(4, k=1)
  c[1] = Node(a=x, b=c[0]) tied node
  c[2] = Node(a=c[0], b=c[1]) tied node
  return c[2]
}
""")
    assert [g.name for g in space.genes] == ["net.node.inputs", "net.node.op"]
    assert space.size == 4
    x = torch.randn(1, 4, 8, 8)
    model = space.build((0, 1), seed=5)  # both cells read their `a` through identity: c[2] = c[0], the 1x1 conv of x
    sd = model.state_dict()
    stem = torch.nn.functional.conv2d(x, sd["net.c.0.0.weight"], sd["net.c.0.0.bias"])
    assert torch.allclose(model.net(x), stem, atol=1e-6)
    assert not torch.allclose(space.build((0, 0), seed=5).net(x), stem, atol=1e-3)  # a conv in both cells
