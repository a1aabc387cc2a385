"""Input selection (`pick NAME: k of [...]`): one gene over the k-combinations, the chosen tensors per genome,
conditions on the chosen input, and exact sizes that count combinations (issue 16, "Input selection")."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from pbtnas.compiler import DiagnosticError, compile_text


def _all_genomes(space):
    return itertools.product(*[range(len(g.options)) for g in space.genes])


SCALED = """
space picks
network net(x: [4]) -> [4] {
  s0 = x >> scale(mul=1.0)
  s1 = x >> scale(mul=2.0)
  n0 = x >> scale(mul=3.0)
  pick inputs: 2 of [s0, s1, n0]
  return (inputs[0] >> scale(mul=10.0)) + inputs[1]
}
"""


def test_options_are_combinations_in_list_order():
    space = compile_text(SCALED)
    (gene,) = space.genes
    assert gene.name == "net.inputs" and gene.kind == "pick"
    assert gene.options == ("s0_s1", "s0_n0", "s1_n0")
    assert space.size == 3
    assert not gene.owns_weights


def test_builder_selects_the_chosen_inputs():
    space = compile_text(SCALED)
    x = torch.randn(2, 4)
    factors = {"s0": 1.0, "s1": 2.0, "n0": 3.0}
    for (option,) in _all_genomes(space):
        first, second = space.genes[0].options[option].split("_")
        out = space.build((option,)).net(x)
        assert torch.allclose(out, x * (10 * factors[first] + factors[second])), space.genes[0].options[option]


def test_condition_on_the_chosen_input():
    space = compile_text("""
space picks
network net(x: [4]) -> [4] {
  s0 = x >> scale(mul=1.0)
  s1 = x >> scale(mul=2.0)
  n0 = x >> scale(mul=3.0)
  n1 = x >> scale(mul=5.0)
  pick inputs: 2 of [s0, s1, n0, n1]
  return inputs[0] >> scale(mul=-1.0) if inputs[1] in [n0, n1] else inputs[0]
}
""")
    x = torch.randn(3, 4)
    factors = {"s0": 1.0, "s1": 2.0, "n0": 3.0, "n1": 5.0}
    assert len(space.genes[0].options) == math.comb(4, 2)
    for (option,) in _all_genomes(space):
        first, second = space.genes[0].options[option].split("_")
        sign = -1.0 if second in ("n0", "n1") else 1.0
        assert torch.allclose(space.build((option,)).net(x), sign * factors[first] * x)


def test_shapes_stay_exact_per_option():
    """Candidates of different sizes: a resize guarded by the pick's own condition makes every option fit, and the
    compiler proves it per option (no E0205 for the combinations the condition rules out)."""
    text = """
space picks
network net(x: [8, 8, 8]) -> [8, 4, 4] {
  big = x >> conv(8, k=3, pad=1)
  small = x >> max_pool(k=2)
  other = small >> conv(8, k=1)
  pick inputs: 1 of [big, small, other]
  return inputs[0] >> max_pool(k=2) if inputs[0] in [big] else inputs[0]
}
"""
    space = compile_text(text)
    for genome in _all_genomes(space):
        assert space.build(genome).net(torch.randn(1, 8, 8, 8)).shape == (1, 8, 4, 4)
    with pytest.raises(DiagnosticError) as err:
        compile_text(text.replace("if inputs[0] in [big]", "if inputs[0] in [small]"))
    assert {d.code for d in err.value.diagnostics} == {"E0203"}


def test_genome_order_and_size_count_combinations():
    """A DARTS cell: node i picks 2 of its i + 2 predecessors, each through one of 7 ops: (C(2,2)·49)(C(3,2)·49)
    (C(4,2)·49)(C(5,2)·49) genotypes, the figure the DARTS paper's space has."""
    nodes = []
    preds = ["s0", "s1"]
    for i in range(4):
        nodes.append(f"""
  pick in{i}: 2 of [{', '.join(preds)}]
  slot a{i}: OPS
  slot b{i}: OPS
  n{i} = a{i}(in{i}[0]) + b{i}(in{i}[1])""")
        preds.append(f"n{i}")
    text = """
space darts_cell
options OPS[H, W]: [8, H, W] -> [8, H, W] {
  sep3 = relu >> conv(8, k=3, pad=1)
  sep5 = relu >> conv(8, k=5, pad=2)
  dil3 = relu >> conv(8, k=3, pad=2, dilation=2)
  dil5 = relu >> conv(8, k=5, pad=4, dilation=2)
  max3 = max_pool(k=3, stride=1, pad=1)
  avg3 = avg_pool(k=3, stride=1, pad=1, include_pad=off)
  skip = identity
}
network cell(x: [8, 8, 8]) -> [32, 8, 8] {
  s0 = x >> conv(8, k=1)
  s1 = x >> conv(8, k=3, pad=1)""" + "".join(nodes) + """
  return cat(n0, n1, n2, n3)
}
"""
    space = compile_text(text)
    assert space.size == (1 * 49) * (3 * 49) * (6 * 49) * (10 * 49) == 1_037_664_180
    names = [g.name.split(".")[-1] for g in space.genes]
    assert names == [n for i in range(4) for n in (f"in{i}", f"a{i}", f"b{i}")]
    rng = torch.Generator().manual_seed(0)
    for _ in range(3):
        genome = tuple(int(torch.randint(len(g.options), (1,), generator=rng)) for g in space.genes)
        assert space.build(genome).cell(torch.randn(1, 8, 8, 8)).shape == (1, 32, 8, 8)


def test_a_pick_in_a_block_has_one_gene_per_instance():
    space = compile_text("""
space picks
block Node[H, W](a: [4, H, W], b: [4, H, W], c: [4, H, W]) -> [4, H, W] {
  pick inputs: 2 of [a, b, c]
  return inputs[0] + inputs[1]
}
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  y = x >> conv(4, k=1)
  n1 = Node(a=x, b=y, c=x >> relu)
  n2 = Node(a=x, b=y, c=n1)
  return n2
}
""")
    assert [g.name for g in space.genes] == ["net.n1.inputs", "net.n2.inputs"]
    assert space.size == 9


@pytest.mark.parametrize("body, code", [
    ("pick p: 0 of [s0, s1]\n  return s0", "E0106"),
    ("pick p: 1 of [s0, s0]\n  return p[0]", "E0102"),
    ("pick p: 1 of [s0, s1]\n  return p[1]", "E0106"),
    ("pick p: 1 of [s0, s1]\n  return p[0] if p[0] in [s9] else s0", "E0106"),
    ("pick p: 1 of [s0, s1 >> relu]\n  return p[0]", "E0105"),
    ("pick p: 1 of [s0, s1]\n  return s0 if s0[0] in [s0] else s1", "E0105"),
    ("pick s0: 1 of [s1, x]\n  return s1", "E0102"),
])
def test_mistakes_are_diagnostics(body: str, code: str):
    text = f"""
space picks
network net(x: [4]) -> [4] {{
  s0 = x >> scale(mul=1.0)
  s1 = x >> scale(mul=2.0)
  {body}
}}
"""
    with pytest.raises(DiagnosticError) as err:
        compile_text(text)
    assert code in {d.code for d in err.value.diagnostics}, [str(d) for d in err.value.diagnostics]


def test_an_unused_block_that_calls_its_slots_is_not_reported():
    """The check of unused blocks knows `a(x)` applies the slot `a` (DARTS's cells at `--set cells=2` use no
    normal cell), and still reports a misspelt op there."""
    block = """
space unused
options OPS[H, W]: [4, H, W] -> [4, H, W] { skip = identity, pool = max_pool(3, stride=1, pad=1) }
block Node[H, W](s0: [4, H, W], s1: [4, H, W]) -> [4, H, W] {
  pick in0: 2 of [s0, s1]
  slot a0: OPS
  slot b0: OPS
  return a0(in0[0]) + b0(in0[1]) >> relu
}
network net(x: [4, 8, 8]) -> [4, 8, 8] {
  return x >> relu
}
"""
    assert compile_text(block).size == 1
    with pytest.raises(DiagnosticError) as err:
        compile_text(block.replace("b0(in0[1]) >> relu", "b0(in0[1]) >> relux(1)"))
    assert [d.code for d in err.value.diagnostics] == ["E0103"]
