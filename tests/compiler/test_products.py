"""Tensor products `a * b`: leading-alignment broadcasting (a [C] gate over [C, H, W]), checked like `+`."""

from __future__ import annotations

import pytest
import torch

from pbtnas.compiler import DiagnosticError, compile_text


def _net(body: str, shape: str = "[4, 6, 6]", out: str = "[4, 6, 6]") -> str:
    return f"space p\nnetwork net(x: {shape}) -> {out} {{\n{body}\n}}\n"


def test_squeeze_and_excitation_builds_the_gated_product():
    space = compile_text(_net("  return x * (x >> global_avg_pool >> linear(4) >> sigmoid)"))
    model = space.build(())
    x = torch.randn(2, 4, 6, 6)
    linear = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    gate = torch.sigmoid(linear(x.mean(dim=(2, 3))))
    assert torch.allclose(model.net(x), x * gate[:, :, None, None], atol=1e-6)


@pytest.mark.parametrize("expr", ["x * gate", "gate * x"])
def test_a_channel_gate_scales_each_channel_on_either_side(expr: str):
    space = compile_text(_net(f"  gate = x >> global_avg_pool >> scale(mul=0.0, add=3.0)\n  return {expr}"))
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(space.build(()).net(x), 3 * x)


def test_gate_of_shape_c11_and_equal_shapes():
    space = compile_text(_net("  g = x >> global_avg_pool >> reshape(4, 1, 1)\n  return (x * g) * x"))
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(space.build(()).net(x), x * x.mean(dim=(2, 3), keepdim=True) * x, atol=1e-6)


def test_shape_follows_the_gene_alternatives():
    space = compile_text(_net("""  param se: [off, on]
  g = (x >> global_avg_pool >> linear(4) >> sigmoid) if se else (x >> global_avg_pool >> scale(mul=0.0, add=1.0))
  return x * g"""))
    x = torch.randn(1, 4, 6, 6)
    assert torch.allclose(space.build((0,)).net(x), x)
    assert space.build((1,)).net(x).shape == x.shape


@pytest.mark.parametrize("body, code, words", [
    ("  return x * (x >> global_avg_pool >> linear(3))", "E0205", "dimension 1 is 4 against 3"),
    ("  return x * (x >> flatten)", "E0205", "[4, 6, 6] by [144]"),
    ("  param on: [off, on]\n  return x * (x >> relu if on)", "E0204", "may be absent"),
    ("  return x * 2", "E0105", "not a constant"),
])
def test_mistakes(body: str, code: str, words: str):
    with pytest.raises(DiagnosticError) as err:
        compile_text(_net(body))
    hits = [d for d in err.value.diagnostics if d.code == code]
    assert hits and any(words in d.message for d in hits), [str(d) for d in err.value.diagnostics]
