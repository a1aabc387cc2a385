"""`pbtnas export RUN`: a saved network of a run as files other tools read.

The folder written (OUT):
    model.safetensors    every tensor of the model's state dict (weights and buffers: BatchNorm statistics,
                         spectral-norm vectors), keys as in `model.state_dict()`
    genome.json          the genome, option names beside the integers, and the schema hash
    space.json           the compiled space (as in the run directory): `pbtnas.load(OUT)` rebuilds the model
    NET.onnx             per network: inputs named as in the .nas file, the batch dimension dynamic
    NET.pt2              per network: a `torch.export` program, loaded with plain torch (`torch.export.load`)
    export.json          what was written, the input shapes, and each ONNX file's largest difference from PyTorch
                         on a random batch (onnxruntime), which the export checks against ONNX_TOLERANCE

The exported networks are in eval mode (BatchNorm uses its running statistics, spectral norm its stored vectors),
as `pbtnas.load` returns them. An op a plugin registered is exported only when the plugin declares it traceable
(`register_export_support`); otherwise the export refuses and names the op.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbtnas.errors import EXIT_USER, UserError

FORMATS = ("safetensors", "onnx", "pt2")
WEIGHTS_NAME = "model.safetensors"
MANIFEST_NAME = "export.json"
ONNX_OPSET = 17
ONNX_TOLERANCE = {"atol": 1e-4, "rtol": 1e-3}  # float32 reassociation in onnxruntime's kernels, not an error
CHECK_BATCH = 3  # a batch size other than the traced one (2), so the dynamic batch dimension is exercised

_EXPORT_SUPPORT: set[str] = set()


class ExportError(UserError):
    exit_code = EXIT_USER


def register_export_support(op: str) -> None:
    """Declare that a plugin's op traces to ONNX and `torch.export` (plain tensor code, no data-dependent Python)."""
    _EXPORT_SUPPORT.add(op)


@dataclass
class ExportResult:
    folder: Path
    files: list[Path] = field(default_factory=list)
    onnx_errors: dict[str, float] = field(default_factory=dict)  # network -> max |onnxruntime - torch|


def parse_formats(text: str) -> tuple[str, ...]:
    """`safetensors,onnx`. The plain-torch program is a `torch.export` program (.pt2): TorchScript is deprecated
    in torch 2.x, so `torchscript` and `torch.export` name that format too."""
    aliases = {"torch.export": "pt2", "torchscript": "pt2"}
    chosen = [aliases.get(f.strip(), f.strip()) for f in text.split(",") if f.strip()]
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise ExportError(f"unknown export format(s) {', '.join(bad) or '(none)'}: choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(chosen))


def unexportable_ops(space: Any, genome: Any) -> list[str]:
    """Ops of this genome's network that a plugin registered without export support (pbtnas's own ops trace)."""
    from pbtnas.compiler.selected import selected_modules
    from pbtnas.layers.ops import get_op

    out = []
    for m in selected_modules(space.artifact, space.validate(genome).values):
        spec = get_op(m.op)
        module = getattr(spec.build, "__module__", "") if spec is not None else ""
        if not module.startswith("pbtnas.") and m.op not in _EXPORT_SUPPORT:
            out.append(f"{m.op} (from {module or 'an unknown module'}, at {m.path})")
    return list(dict.fromkeys(out))


def export_run(run_dir: str | Path, out: str | Path, which: str = "best",
               formats: tuple[str, ...] = FORMATS) -> ExportResult:
    from pbtnas.engine.loading import load, load_space_of_run

    run_dir, out = Path(run_dir), Path(out)
    model, genome = load(run_dir, which)
    space = load_space_of_run(run_dir)
    if {"onnx", "pt2"} & set(formats):
        blocked = unexportable_ops(space, genome)
        if blocked:
            raise ExportError("cannot export this network to ONNX or torch.export: op(s) registered without export "
                              f"support: {'; '.join(blocked)}. Export --format safetensors only, or have the "
                              "plugin call pbtnas.export.register_export_support(NAME) once its module traces")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create {out}: {err}") from None
    result = ExportResult(out)
    networks = space.artifact["networks"]
    manifest: dict[str, Any] = {"run": str(run_dir), "which": which, "space": space.name,
                                "schema_hash": space.schema_hash, "formats": list(formats), "networks": {}}
    if "safetensors" in formats:
        result.files += write_weights(out, model, space, genome, (run_dir / "space.json").read_text())
    for net in networks:
        if {"onnx", "pt2"} & set(formats) and any(d is None for shape in net["input_shapes"] for d in shape):
            raise ExportError(f"network `{net['name']}` has an input of free size {net['input_shapes']}: tracing "
                              "needs concrete input sizes (compile the space with --set for them)")
        entry = manifest["networks"][net["name"]] = {"inputs": net["inputs"], "input_shapes": net["input_shapes"]}
        module = getattr(model, net["name"])
        example = example_inputs(net, 2)
        if "onnx" in formats:
            path = out / f"{net['name']}.onnx"
            write_onnx(module, net, example, path)
            result.onnx_errors[net["name"]] = entry["onnx_max_abs_error"] = check_onnx(module, net, path)
            result.files.append(path)
        if "pt2" in formats:
            path = out / f"{net['name']}.pt2"
            write_program(module, net, example, path)
            result.files.append(path)
    manifest["onnx_tolerance"] = ONNX_TOLERANCE
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    result.files.append(out / MANIFEST_NAME)
    return result


def write_weights(out: Path, model: Any, space: Any, genome: Any, space_json: str) -> list[Path]:
    from safetensors.torch import save_file

    # safetensors refuses tensors that share memory; each entry gets its own contiguous copy
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_NAME), metadata={"space": space.name, "schema_hash": space.schema_hash})
    (out / "genome.json").write_text(json.dumps(space.to_json_genome(genome), indent=2) + "\n")
    (out / "space.json").write_text(space_json)
    return [out / WEIGHTS_NAME, out / "genome.json", out / "space.json"]


def read_weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / WEIGHTS_NAME))


def example_inputs(net: dict, batch: int, seed: int = 0) -> tuple:
    import torch

    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, *shape, generator=gen) for shape in net["input_shapes"])


def output_names(net: dict) -> list[str]:
    return ["output"] if net["n_outputs"] == 1 else [f"output{i}" for i in range(net["n_outputs"])]


def write_onnx(module: Any, net: dict, example: tuple, path: Path) -> None:
    import torch

    names = list(net["inputs"])
    dynamic = {n: {0: "batch"} for n in names + output_names(net)}
    with warnings.catch_warnings():  # the TorchScript-based exporter's deprecation notice: it is the one that
        warnings.simplefilter("ignore")  # runs without onnxscript, and torch is pinned
        torch.onnx.export(module, example, str(path), input_names=names, output_names=output_names(net),
                          dynamic_axes=dynamic, opset_version=ONNX_OPSET, dynamo=False)


def check_onnx(module: Any, net: dict, path: Path) -> float:
    """Run the ONNX file with onnxruntime on a random batch; the largest difference from PyTorch, refused when it is
    beyond ONNX_TOLERANCE."""
    import numpy as np
    import onnxruntime
    import torch

    inputs = example_inputs(net, CHECK_BATCH, seed=1)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: x.numpy() for n, x in zip(net["inputs"], inputs)})
    with torch.no_grad():
        want = module(*inputs)
    want = [want] if isinstance(want, torch.Tensor) else list(want)
    worst = 0.0
    for g, w in zip(got, want):
        w = w.numpy()
        if g.shape != w.shape or not np.allclose(g, w, **ONNX_TOLERANCE):
            raise ExportError(f"{path.name}: onnxruntime's output differs from PyTorch's beyond {ONNX_TOLERANCE} "
                              f"(max |diff| {float(np.abs(g - w).max()) if g.shape == w.shape else 'shape'})")
        worst = max(worst, float(np.abs(g - w).max()))
    return worst


def write_program(module: Any, net: dict, example: tuple, path: Path) -> None:
    import torch

    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(module, example, dynamic_shapes={"inputs": tuple({0: batch} for _ in example)})
    torch.export.save(program, str(path))
