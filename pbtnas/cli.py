"""The pbtnas command-line interface."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Optional

import typer

from pbtnas.errors import EXIT_INTERNAL, EXIT_USER, UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Neural architecture search with PBT-NAS. "
                  "Add --debug to any command to see the traceback of an internal error.")

# --- compiler commands: compile, check, sample, show, ops (pbtnas/compiler/commands.py) ---
from pbtnas.compiler.commands import register as _register_compiler_commands  # noqa: E402

_register_compiler_commands(app)
# --- end of compiler commands ---


# --- run post-processing: evaluate, and sample (a genome of a space, or images of a GAN run) ---
@app.command("sample")
def sample(
    target: Path = typer.Argument(..., help="a .nas file (-> a random genome) or a GAN run directory (-> images)"),
    seed: int = typer.Option(0, "--seed", help="random seed"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="override a constant: NAME=VALUE (spaces)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output file (genome JSON, or the PNG grid)"),
    grid: str = typer.Option("8x8", "--grid", help="ROWSxCOLS of the image grid (runs)"),
    which: str = typer.Option("best", "--which", help="best | best_ever | a soup folder (runs)"),
    plugins: Optional[list[str]] = typer.Option(None, "--plugin", help="import a module that registers ops"),
) -> None:
    """A random genome of a space as JSON, or an image grid from the generator of a GAN run."""
    if not target.is_dir():
        from pbtnas.compiler.commands import sample_cmd

        sample_cmd(target, seed, sets, out, plugins)
        return
    from pbtnas.tasks.commands import RunError, sample_run

    try:
        path = sample_run(target, out or Path("samples.png"), grid=grid, seed=seed, which=which)
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(err.exit_code)
    print(f"wrote {path}")


@app.command("evaluate")
def evaluate(
    run_dir: Path = typer.Argument(..., help="a finished run directory"),
    fid_images: int = typer.Option(50_000, "--fid-images", help="GAN: generated images for FID and IS"),
    splits: int = typer.Option(10, "--splits", help="GAN: IS splits"),
    episodes: int = typer.Option(10, "--episodes", help="RL: evaluation episodes"),
    video: Optional[Path] = typer.Option(None, "--video", help="RL: write the first episode of the best network"),
    seed: int = typer.Option(0, "--seed", help="random seed of the evaluation"),
) -> None:
    """Final metrics of a run's saved networks (best, best_ever, soups): FID-50k and IS, or RL returns."""
    from pbtnas.tasks.commands import RunError, evaluate_run, format_results

    if not run_dir.is_dir():
        print(f"error: {run_dir} is not a directory", file=sys.stderr)
        raise typer.Exit(EXIT_USER)
    try:
        results = evaluate_run(run_dir, fid_images=fid_images, splits=splits, episodes=episodes, video=video,
                               seed=seed)
    except (RunError, ValueError) as err:  # ValueError: the task's own checks of the saved networks
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(EXIT_USER)
    for line in format_results(results):
        print(line)
    print(f"wrote {run_dir / 'final_metrics.json'}")
# --- end of run post-processing ---

# --- engine commands: search, soup (owned by pbtnas/engine; implementations in pbtnas/engine/cli_commands.py) ---
from pbtnas.engine.cli_commands import register as _register_engine_commands  # noqa: E402

_register_engine_commands(app)
# --- end of engine commands ---

# --- report commands: report, experiment (owned by pbtnas/report; implementations in pbtnas/report/commands.py) ---
from pbtnas.report.commands import register as _register_report_commands  # noqa: E402

_register_report_commands(app)
# --- end of report commands ---


DEBUG_FLAG = "--debug"


def main(argv: list[str] | None = None) -> None:
    """The console script. Exit codes: pbtnas.errors.EXIT_CODES (the README's table)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # `--debug` anywhere on the line: every command has it without repeating it in each signature
    debug = DEBUG_FLAG in args
    args = [a for a in args if a != DEBUG_FLAG]
    try:
        app(args=args, prog_name="pbtnas")
    except UserError as err:  # a documented user error that no command turned into its message itself
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except Exception as err:  # anything else is a bug in pbtnas, not the user's mistake
        if debug:
            traceback.print_exc()
        print(f"internal error (a bug in pbtnas, please report it): {type(err).__name__}: {err}\n"
              f"  run the command again with {DEBUG_FLAG} for the traceback", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
