"""``pbtnas experiment CONFIG [CONFIG ...] --seeds N``: run each config for seeds s, s+1, …, s+N-1 (s = the config's
``seed``, default 0) through the engine's public ``search`` function, then write one report across all the runs.

Resumable: a run directory that is complete is kept as it is, one that was killed is continued with ``--resume``;
so re-running the same command after an interruption finishes the experiment without repeating work.

Layout: ``OUT/<config stem>/seed_<s>/`` for the runs, ``OUT/report/`` for the report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ExperimentRun", "plan", "run_experiment"]


@dataclass(frozen=True)
class ExperimentRun:
    config: Path
    seed: int
    run_dir: Path

    def state(self) -> str:
        """'done', 'partial' (resume it) or 'new'."""
        progress = self.run_dir / "progress.json"
        if progress.exists():
            return "done" if json.loads(progress.read_text()).get("complete") else "partial"
        return "new"


def _base_seed(config: Path) -> int:
    from pbtnas.engine.config import ConfigError, load_config_file

    seed = load_config_file(config).get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{config}: seed must be a non-negative integer, got {seed!r}")
    return seed


def _is_bohb(config: Path) -> bool:
    from pbtnas.engine.config import load_config_file

    return "budget_members" in load_config_file(config)


def plan(configs: Sequence[Path], seeds: int, out: Path, first_seed: int | None = None) -> list[ExperimentRun]:
    from pbtnas.engine.config import ConfigError
    from pbtnas.engine.names import UnsafeName, safe_name

    runs = []
    for config in configs:
        try:  # the config's file name names its runs' folder (a file called "...toml" has the stem "..")
            safe_name(Path(config).stem, "the config file's name")
        except UnsafeName as err:
            raise ConfigError(str(err)) from None
        start = _base_seed(config) if first_seed is None else first_seed
        for s in range(start, start + seeds):
            runs.append(ExperimentRun(Path(config), s, out / Path(config).stem / f"seed_{s}"))
    return runs


def run_experiment(
    configs: Sequence[Path],
    seeds: int,
    out: Path,
    first_seed: int | None = None,
    extra: dict[str, Any] | None = None,
    report: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every (config, seed) not yet complete, in order, then write the report. ``extra`` holds execution
    options for every run (workers, cpus_per_member, progress, address). Returns a summary."""
    from pbtnas.engine.commands import search

    extra = dict(extra or {})
    todo = plan(configs, seeds, out, first_seed)
    timings: list[dict[str, Any]] = []
    for i, run in enumerate(todo, 1):
        state = run.state()
        label = f"[{i}/{len(todo)}] {run.config.stem} seed {run.seed}"
        if state == "done":
            say(f"{label}: complete, kept ({run.run_dir})")
            continue
        t0 = time.perf_counter()
        if _is_bohb(run.config):  # a BOHB cell (configs/*/bohb/): Ray Tune, not the engine; not resumable
            from pbtnas.baselines.bohb import load_bohb_config, run_bohb

            if run.run_dir.exists():
                import shutil

                shutil.rmtree(run.run_dir)
            say(f"{label}: BOHB into {run.run_dir}")
            run_bohb(load_bohb_config(run.config, seed=run.seed), run.run_dir)
            timings.append({"config": str(run.config), "seed": run.seed, "seconds": time.perf_counter() - t0})
            continue
        if state == "partial":
            say(f"{label}: resuming {run.run_dir}")
            summary, _ = search(dict(extra), None, run.run_dir)
        else:
            if run.run_dir.exists() and any(run.run_dir.iterdir()):
                # a run killed before its first commit point: nothing to keep
                import shutil

                shutil.rmtree(run.run_dir)
            say(f"{label}: running into {run.run_dir}")
            summary, _ = search({**extra, "seed": run.seed, "out": str(run.run_dir)}, run.config, None)
        timings.append({"config": str(run.config), "seed": run.seed, "seconds": time.perf_counter() - t0,
                        "best_fitness": summary.best_fitness})
        say(f"{label}: best fitness {summary.best_fitness:.6g} in {time.perf_counter() - t0:.1f} s")
    result: dict[str, Any] = {"runs": [str(r.run_dir) for r in todo], "timings": timings}
    if report:
        from pbtnas.report.build import build_report

        done = [r.run_dir for r in todo if r.state() == "done"]
        title = "Experiment: " + ", ".join(Path(c).stem for c in configs) + f" ({seeds} seed(s))"
        result["report"] = build_report(done, out / "report", title=title)["markdown"]
    return result
