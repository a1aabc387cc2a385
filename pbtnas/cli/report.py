"""`pbtnas report` and `pbtnas experiment`: reports of run directories, and configs run for several seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pbtnas.cli.output import fail, reported
from pbtnas.errors import EXIT_USER


def report_command(
    runs: list[Path] = typer.Argument(..., help="run directories (one or many); nothing is re-trained"),
    out: Path = typer.Option(Path("report"), "-o", "--out", help="folder for report.md, report.html and PNGs"),
    title: str = typer.Option("pbtnas report", help="title of the report"),
    tensorboard: bool = typer.Option(False, "--tensorboard/--no-tensorboard",
                                     help="also write RUN/tensorboard/ events from the run files"),
) -> None:
    """Plots, tables and statistics of finished (or running) searches: Markdown + PNG + HTML."""
    from pbtnas.engine.names import UnsafeName, output_path
    from pbtnas.report.build import build_report
    from pbtnas.report.load import RunError

    try:
        summary = build_report(runs, output_path(out, "--out"), title=title)
    except (RunError, UnsafeName) as err:
        fail(str(err), EXIT_USER)
    if tensorboard:
        from pbtnas.engine.tensorboard import backfill

        for run in runs:
            backfill(run)
    print(f"report of {len(runs)} run(s): {summary['markdown']} and {summary['html']}")


def experiment_command(
    configs: list[Path] = typer.Argument(..., help="search config files (configs/paper/*.toml, configs/tiny/...)"),
    seeds: int = typer.Option(3, min=1, help="runs per config, with seeds s, s+1, … (s = the config's seed)"),
    first_seed: Optional[int] = typer.Option(None, "--first-seed", help="override s"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="[default: runs/experiment-<first config>]"),
    workers: Optional[int] = typer.Option(None, help="Ray actors per run"),
    address: Optional[str] = typer.Option(None, help="join this Ray cluster"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show each run's progress bar"),
) -> None:
    """Run configs for several seeds through `pbtnas search` and write one report across them (resumable)."""
    for c in configs:
        if not c.exists():
            fail(f"config file not found: {c}", EXIT_USER)
    from rich.console import Console

    from pbtnas.engine.names import UnsafeName, output_path, safe_name
    from pbtnas.report.experiment import run_experiment

    extra = {k: v for k, v in {"workers": workers, "address": address, "progress": progress}.items() if v is not None}
    try:
        out_dir = output_path(out, "--out") if out else Path("runs") / safe_name(
            f"experiment-{configs[0].stem}", "the default experiment folder")
    except UnsafeName as err:
        fail(str(err), EXIT_USER)
    with reported():  # a ConfigError is a UserError
        result = run_experiment(configs, seeds, out_dir, first_seed, extra, say=Console().print)
    print(f"report: {result['report']}")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
    app.command("experiment")(experiment_command)
