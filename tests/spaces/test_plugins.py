"""Ops added from Python: `register_op` and the CLI's `--plugin`."""

from __future__ import annotations

import textwrap

import torch
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.compiler import compile_text
from pbtnas.layers import get_op

PLUGIN = textwrap.dedent('''
    from torch import nn
    from pbtnas.layers import ArgSpec, OpSpec, register_op

    class Repeat(nn.Module):
        def __init__(self, times):
            super().__init__()
            self.times = times

        def forward(self, x):
            return x.repeat(1, self.times)

    register_op(OpSpec(
        "repeat_features", (ArgSpec("times", "int", 2),),
        shape=lambda s, a: (s[0] * a["times"],),
        param_dims=lambda s, a: [],
        build=lambda s, a: Repeat(a["times"]),
        doc="tile a feature vector"))
''')

SPACE = textwrap.dedent('''
    space plugged
    network net(x: [4]) -> [8] {
      slot widen: [4] -> [8] {
        tiled  = repeat_features(2)
        linear = linear(8)
        wrong  = repeat_features(3)
      }
      return x >> widen
    }
''')


def test_plugin_op_is_checked_like_a_builtin(tmp_path, monkeypatch):
    (tmp_path / "my_ops.py").write_text(PLUGIN)
    (tmp_path / "plugged.nas").write_text(SPACE)
    monkeypatch.syspath_prepend(str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["check", str(tmp_path / "plugged.nas"), "--plugin", "my_ops"])
    # the plugin's shape rule takes part in the interchangeability proof: `wrong` gives 12 features, not 8
    assert result.exit_code == 1
    assert "option `wrong` of slot `widen` does not match the slot interface" in result.output
    assert "found [12], expected [8]" in result.output
    assert get_op("repeat_features") is not None

    valid = "\n".join(line for line in SPACE.splitlines() if "wrong" not in line)
    space = compile_text(valid, "plugged.nas")
    model = space.build(space.validate([0]), seed=0)
    x = torch.arange(8.0).reshape(2, 4)
    assert torch.equal(model.net(x), x.repeat(1, 2))


def test_missing_plugin_is_a_diagnostic(tmp_path):
    (tmp_path / "s.nas").write_text(SPACE)
    result = CliRunner().invoke(app, ["check", str(tmp_path / "s.nas"), "--plugin", "no_such_module_xyz"])
    assert result.exit_code == 1
    assert "cannot import plugin `no_such_module_xyz`" in result.output
    assert "Traceback" not in result.output
