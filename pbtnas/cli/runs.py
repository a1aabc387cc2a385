"""`pbtnas evaluate RUN` and `pbtnas images RUN`: what a finished run's saved networks score and draw
(pbtnas.tasks.commands computes; nothing is retrained)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pbtnas.cli.output import fail, reported
from pbtnas.errors import EXIT_USER


def write_images(run_dir: Path, out: Path, grid: str, seed: int, which: str) -> None:
    from pbtnas.tasks.commands import sample_run

    with reported():
        path = sample_run(run_dir, out, grid=grid, seed=seed, which=which)
    print(f"wrote {path}")


def images_command(
    run_dir: Path = typer.Argument(..., help="a GAN run directory"),
    out: Path = typer.Option(Path("samples.png"), "--out", "-o", help="the PNG grid to write"),
    grid: str = typer.Option("8x8", "--grid", help="ROWSxCOLS of the image grid"),
    seed: int = typer.Option(0, "--seed", help="random seed of the latent vectors"),
    which: str = typer.Option("best", "--which", help="best | best_ever | a soup folder"),
) -> None:
    """An image grid from the generator of a GAN run's saved network."""
    if not run_dir.is_dir():
        fail(f"{run_dir} is not a directory", EXIT_USER)
    write_images(run_dir, out, grid, seed, which)


def evaluate_command(
    run_dir: Path = typer.Argument(..., help="a finished run directory"),
    fid_images: int = typer.Option(50_000, "--fid-images", help="GAN: generated images for FID and IS"),
    splits: int = typer.Option(10, "--splits", help="GAN: IS splits"),
    episodes: int = typer.Option(10, "--episodes", help="RL: evaluation episodes"),
    video: Optional[Path] = typer.Option(None, "--video", help="RL: write the first episode of the best network"),
    seed: int = typer.Option(0, "--seed", help="random seed of the evaluation"),
    plugins: Optional[list[str]] = typer.Option(None, "--plugin", help="a plugin module the run was searched with"),
) -> None:
    """Final metrics of a run's saved networks (best, best_ever, soups): FID-50k and IS, RL returns, or test
    accuracy and a confusion matrix (RUN/confusion_<network>.png) for classify."""
    if not run_dir.is_dir():
        fail(f"{run_dir} is not a directory", EXIT_USER)
    from pbtnas.tasks.commands import evaluate_run, format_results

    try:
        with reported():
            results = evaluate_run(run_dir, fid_images=fid_images, splits=splits, episodes=episodes, video=video,
                                   seed=seed, plugins=plugins)
    except ValueError as err:  # the task's own checks of the saved networks
        fail(str(err), EXIT_USER)
    for line in format_results(results):
        print(line)
    print(f"wrote {run_dir / 'final_metrics.json'}")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
    app.command("images")(images_command)
