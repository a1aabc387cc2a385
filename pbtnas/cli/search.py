"""`pbtnas search` and `pbtnas soup` (pbtnas.engine.commands computes; Ray and torch load when a search starts).

Every option exists in the TOML config file under the same name with underscores (``--cpus-per-member`` is
``cpus_per_member``); an option given on the command line wins over the file. ``pbtnas.search`` takes the same
options from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pbtnas.cli.output import reported

__all__ = ["register", "search_command", "soup_command"]


def search_command(
    space: Optional[str] = typer.Argument(None, help="the .nas file to search (or a compiled space .json)"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with any of these options"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue this run directory from its last step"),
    task: Optional[str] = typer.Option(None, help="classify | gan | rl | module:Class  [default: classify]"),
    task_option: Optional[list[str]] = typer.Option(None, "--task-option", help="KEY=VALUE for the task (repeat)"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="NAME=VALUE: a constant of the space (repeat)"),
    plugins: Optional[list[str]] = typer.Option(
        None, "--plugin", help="import a module that registers extra ops (repeat); again with --resume"),
    algorithm: Optional[str] = typer.Option(None, help="pbtnas | random | mutation  [default: pbtnas]"),
    population: Optional[int] = typer.Option(None, help="N, members trained in parallel  [default: 8]"),
    epochs: Optional[int] = typer.Option(None, help="training budget of every member  [default: 20]"),
    step: Optional[int] = typer.Option(None, help="e_step: epochs between selections  [default: 2]"),
    step_schedule: Optional[list[str]] = typer.Option(
        None, "--step-schedule", help="UNTIL:STEP, steps of STEP epochs until epoch UNTIL (repeat)"
    ),
    seed: Optional[int] = typer.Option(None, help="the one seed of the run  [default: 0]"),
    tau: Optional[float] = typer.Option(None, help="fraction replaced / used as parents  [default: 0.25]"),
    mix_probability: Optional[float] = typer.Option(None, help="per-gene donor probability  [default: 0.25]"),
    shrink_perturb: Optional[str] = typer.Option(
        None, help="LAMBDA,GAMMA; default 0.4,0.1 for pbtnas, off for random (given: random + shrink-perturb)"
    ),
    mix_with_self: Optional[bool] = typer.Option(None, "--mix-with-self/--no-mix-with-self",
                                                 help="ablation: donor = base"),
    max_params: Optional[int] = typer.Option(None, "--max-params", help="budget: parameters of every member"),
    max_flops: Optional[int] = typer.Option(None, "--max-flops",
                                            help="budget: multiply-adds per sample of every member"),
    out: Optional[str] = typer.Option(None, help="run directory  [default: runs/<space>-<algorithm>-<time>]"),
    address: Optional[str] = typer.Option(None, help="join this Ray cluster ('auto' for the local one)"),
    ray_bind: Optional[str] = typer.Option(None, "--ray-bind",
                                           help="loopback | all: where a local Ray listens  [default: loopback]"),
    workers: Optional[int] = typer.Option(None, help="Ray actors training members  [default: as resources allow]"),
    cpus_per_member: Optional[float] = typer.Option(None, help="CPUs of one worker  [default: 1]"),
    gpus_per_member: Optional[float] = typer.Option(None, help="GPUs of one worker, may be fractional  [default: 0]"),
    max_retries: Optional[int] = typer.Option(None, help="retrainings after a worker dies  [default: 2]"),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="show the progress bar"),
    tensorboard: Optional[bool] = typer.Option(None, "--tensorboard/--no-tensorboard",
                                               help="log every member to RUN/tensorboard  [default: on]"),
    overlap_steps: Optional[bool] = typer.Option(
        None, "--overlap-steps/--no-overlap-steps",
        help="start a sure survivor's next step before its step's last member ends (same result)  [default: on]",
    ),
    keep_best_ever_population: Optional[bool] = typer.Option(
        None, "--keep-best-ever-population/--no-keep-best-ever-population",
        help="keep the best-ever step's population for `pbtnas soup --population best_ever`  [default: on for gan]",
    ),
    preset: Optional[str] = typer.Option(
        None, help="task preset: paper | tiny (gan, rl); tiny | mnist1d (classify); also sets N, epochs, e_step"),
    data: Optional[str] = typer.Option(
        None, help="classify: digits | mnist1d | mnist | fashion_mnist | cifar10 | cifar100 | svhn | npz:PATH | "
                   "csv:PATH | imagefolder:PATH; gan: digits | cifar10 | stl10"),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="folder of the torchvision datasets"),
    download: Optional[bool] = typer.Option(None, "--download/--no-download",
                                            help="let torchvision download a missing dataset"),
    inception_weights: Optional[str] = typer.Option(None, "--inception-weights",
                                                    help="gan: local Inception weights file for FID/IS"),
    env: Optional[str] = typer.Option(None, help="rl: dm_control task as domain_task, e.g. walker_run"),
    obs: Optional[str] = typer.Option(None, help="rl: pixels | state"),
    shared_replay: Optional[bool] = typer.Option(None, "--shared-replay/--private-replay",
                                                 help="rl: one replay buffer per node shared by its members"),
) -> None:
    """Search a space with PBT-NAS (or a baseline) on Ray."""
    options = dict(locals())
    options["overrides"] = options.pop("set_")
    options["task_options"] = options.pop("task_option")
    for name in ("config", "resume"):
        del options[name]
    from pbtnas.engine.commands import search, search_values

    with reported():
        summary, run_dir = search(search_values(options), config, resume)
    print(f"best fitness {summary.best_fitness:.6g} in {summary.wall_seconds:.1f} s "
          f"({summary.workers} workers, {summary.failures} failed members, {summary.restarts} worker restarts)")
    if summary.timings is not None:  # where the wall time went, also in RUN/timings.json
        print(summary.timings.line())
    print(f"run directory: {run_dir}   load it with pbtnas.load({str(run_dir)!r})")


def soup_command(
    run_dir: Path = typer.Argument(..., help="a finished run directory"),
    target: Optional[str] = typer.Option(None, help="average only this network (e.g. encoder)"),
    name: Optional[str] = typer.Option(
        None, help="output folder in the run  [default: soup, soup_best_ever, + _<target>]"),
    population: str = typer.Option(
        "final", help="final: the last population; best_ever: the population of the best-ever step (the paper's "
                      "GAN soups; kept by keep_best_ever_population)"),
    plugins: Optional[list[str]] = typer.Option(None, "--plugin", help="a plugin module the run was searched with"),
) -> None:
    """Greedy model soup of the members that share the best genome (paper §5.5)."""
    from pbtnas.engine.commands import soup

    with reported():
        info = soup(run_dir, target, name, population, plugins)
    print(f"soup of {len(info['ingredients'])}/{len(info['candidates'])} members: fitness {info['fitness']:.6g} "
          f"(best member alone {info['best_member_fitness']:.6g}) -> {info['folder']}")


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
    app.command("soup")(soup_command)
