"""`pbtnas export RUN`: a run's saved network as safetensors, ONNX and a torch.export program (pbtnas.export)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pbtnas.cli.output import fail, reported
from pbtnas.errors import EXIT_USER


def export_command(
    run_dir: Path = typer.Argument(..., help="a finished run directory"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="the folder to write [default: RUN/export-WHICH]"),
    which: str = typer.Option("best", "--which", help="best | best_ever | a soup folder"),
    formats: str = typer.Option("safetensors,onnx,pt2", "--format",
                                help="comma-separated: safetensors, onnx, pt2 (a torch.export program; "
                                     "`torchscript` names it too)"),
) -> None:
    """Export a run's network: weights as safetensors, each network as ONNX (checked with onnxruntime) and as a
    program plain torch loads."""
    if not run_dir.is_dir():
        fail(f"{run_dir} is not a directory", EXIT_USER)
    from pbtnas.engine.names import UnsafeName, output_path
    from pbtnas.export.bundle import export_run, parse_formats

    try:
        target = output_path(out, "--out") if out else run_dir / f"export-{which}"
    except UnsafeName as err:
        fail(str(err), EXIT_USER)
    with reported():
        result = export_run(run_dir, target, which, parse_formats(formats))
    for path in result.files:
        print(f"wrote {path}")
    for net, err in result.onnx_errors.items():
        print(f"{net}.onnx: onnxruntime matches PyTorch (max |diff| {err:.2e})")


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
