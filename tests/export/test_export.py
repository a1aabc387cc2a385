"""`pbtnas export`: safetensors that `pbtnas.load` reads back, ONNX that onnxruntime runs as PyTorch does, and a
torch.export program that loads where pbtnas cannot be imported; a plugin op without export support is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.engine.loading import load
from pbtnas.export.bundle import ONNX_TOLERANCE, ExportError, example_inputs, export_run

# The subprocess cannot import pbtnas at all (the venv has it installed editable): a None entry in sys.modules
# makes `import pbtnas` raise, so the program must load with torch alone.
PLAIN_TORCH = """
import sys
sys.modules["pbtnas"] = None
import numpy as np, torch
program = torch.export.load(sys.argv[1]).module()
inputs = [torch.from_numpy(a) for a in np.load(sys.argv[2]).values()]
with torch.no_grad():
    out = program(*inputs)
out = out if isinstance(out, torch.Tensor) else out[0]
np.save(sys.argv[3], out.numpy())
"""


def outputs(module, inputs):
    with torch.no_grad():
        out = module(*inputs)
    return [out] if isinstance(out, torch.Tensor) else list(out)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["digits_run", "gan_run", "rl_run"])
def test_export_end_to_end(fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    import onnxruntime

    run = request.getfixturevalue(fixture)
    result = export_run(run, tmp_path / "out")
    model, genome = load(run)
    space_networks = json.loads((tmp_path / "out" / "export.json").read_text())["networks"]
    assert set(space_networks) == {n for n, _ in model.named_children()}

    reloaded, genome2 = load(tmp_path / "out")  # pbtnas.load reads the exported folder
    assert genome2.values == genome.values
    assert set(reloaded.state_dict()) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert torch.equal(v, reloaded.state_dict()[k]), k

    for name, entry in space_networks.items():
        net = {"inputs": entry["inputs"], "input_shapes": entry["input_shapes"]}
        inputs = example_inputs(net, 5, seed=9)
        want = outputs(getattr(model, name), inputs)
        session = onnxruntime.InferenceSession(str(tmp_path / "out" / f"{name}.onnx"))
        assert [i.name for i in session.get_inputs()] == entry["inputs"]
        got = session.run(None, {n: x.numpy() for n, x in zip(entry["inputs"], inputs)})
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), **ONNX_TOLERANCE)
        np.testing.assert_allclose(outputs(getattr(reloaded, name), inputs)[0], want[0])

        saved = tmp_path / f"{name}_inputs.npz"
        np.savez(saved, *[x.numpy() for x in inputs])
        proc = subprocess.run([sys.executable, "-c", PLAIN_TORCH, str(tmp_path / "out" / f"{name}.pt2"), str(saved),
                               str(tmp_path / f"{name}_out.npy")], capture_output=True, text=True, timeout=300,
                              cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr[-2000:]
        np.testing.assert_allclose(np.load(tmp_path / f"{name}_out.npy"), want[0].numpy(), rtol=1e-5, atol=1e-5)


def test_the_cli_exports_and_refuses_unknown_formats(digits_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["export", str(digits_run), "-o", str(tmp_path / "w"), "--format", "safetensors"])
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["export.json", "genome.json", "model.safetensors",
                                                                  "space.json"]
    bad = runner.invoke(app, ["export", str(digits_run), "-o", str(tmp_path / "x"), "--format", "tflite"])
    assert bad.exit_code == 2 and "tflite" in bad.output
    missing = runner.invoke(app, ["export", str(digits_run), "--which", "soup"])
    assert missing.exit_code == 2 and "soup" in missing.output


def test_a_plugin_op_without_export_support_is_refused_by_name(tmp_path: Path) -> None:
    from export_runs import make_run
    from torch import nn

    from pbtnas.export import bundle
    from pbtnas.layers import OpSpec, get_op, register_op

    class Doubler(nn.Module):
        def forward(self, x):
            return 2 * x

    if get_op("export_test_doubler") is None:  # built here, outside pbtnas: a plugin's op
        register_op(OpSpec("export_test_doubler", (), lambda s, a: s, lambda s, a: [], lambda s, a: Doubler()))
    nas = tmp_path / "t.nas"
    nas.write_text("space t\nnetwork n(x: [4]) -> [4] {\n  return x >> linear(4) >> export_test_doubler\n}\n")
    run = make_run(tmp_path / "run", str(nas))
    with pytest.raises(ExportError, match=r"export_test_doubler \(from .*test_export.*, at n\."):
        export_run(run, tmp_path / "out", formats=("onnx",))
    assert export_run(run, tmp_path / "weights", formats=("safetensors",)).files  # weights need no tracing
    bundle.register_export_support("export_test_doubler")
    try:
        result = export_run(run, tmp_path / "out", formats=("onnx", "pt2"))
        assert set(result.onnx_errors) == {"n"} and (tmp_path / "out" / "n.pt2").is_file()
    finally:
        bundle._EXPORT_SUPPORT.discard("export_test_doubler")
