"""`pbtnas evaluate RUN` and `pbtnas sample RUN`: final metrics and images of a finished run's networks.

They read the run directory only (its config, compiled space and saved networks) and never retrain. Results go to
RUN/final_metrics.json (written atomically) and to the terminal.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Any

from pbtnas.engine.loading import LoadError, load, load_space_of_run
from pbtnas.engine.names import UnsafeName, output_path
from pbtnas.engine.rundir import CheckpointError, load_state
from pbtnas.tasks.registry import UnknownTask, get_task
from pbtnas.errors import UserError


class RunError(UserError, ValueError):
    """A run directory that cannot be evaluated as asked; the message is meant for the user."""


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} is not a pbtnas run directory (no config.json)")
    try:
        cfg = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise RunError(f"{path} is not readable JSON: {err}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("task"), str):
        raise RunError(f"{path} is not a pbtnas configuration (no task)")
    return cfg


def networks_of(run_dir: Path) -> list[str]:
    """The saved networks of a run: best, best_ever and any soups, in that order."""
    names = [n for n in ("best", "best_ever") if (run_dir / n / "model.pt").exists()]
    names += sorted(p.name for p in run_dir.glob("soup*") if (p / "model.pt").exists())
    if not names:
        raise RunError(f"{run_dir} has no saved network yet (best/model.pt): has the run finished?")
    return names


def open_task(run_dir: Path, plugins: list[str] | None = None, **option_updates: Any):
    cfg = _config(run_dir)
    try:
        task_cls = get_task(cfg["task"])
    except UnknownTask as err:
        raise RunError(str(err)) from None
    try:
        options = task_cls.Options.model_validate({**(cfg.get("task_options") or {}), **option_updates})
    except (TypeError, ValueError) as err:  # pydantic's ValidationError is a ValueError
        raise RunError(f"{run_dir / 'config.json'}: invalid task options: {err}") from None
    try:
        space = load_space_of_run(run_dir, plugins)
    except LoadError as err:
        raise RunError(str(err)) from None
    try:
        task = task_cls(space, options, run_dir)
    except (ValueError, OSError) as err:  # the task's data is gone or malformed since the search
        raise RunError(f"{run_dir}: the task cannot start: {err}") from None
    return cfg["task"], task, space


def _write_metrics(run_dir: Path, results: dict[str, Any]) -> Path:
    path = run_dir / "final_metrics.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(results)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(old, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def _weights(path: Path) -> Any:
    try:
        return load_state(path)
    except CheckpointError as err:
        raise RunError(str(err)) from None


def evaluate_run(run_dir: Path, *, fid_images: int = 50_000, splits: int = 10, episodes: int = 10,
                 video: Path | None = None, seed: int = 0, which: list[str] | None = None,
                 plugins: list[str] | None = None) -> dict[str, Any]:
    """Final metrics of each saved network of the run (GAN: FID and IS; RL: returns; classify: validation and test
    accuracy with RUN/confusion_<network>.png; others: the task's fitness)."""
    run_dir = Path(run_dir)
    try:
        video = output_path(video, "--video") if video is not None else None
    except UnsafeName as err:
        raise RunError(str(err)) from None
    names = which or networks_of(run_dir)
    task_name, task, space = open_task(run_dir, plugins)
    results: dict[str, Any] = {}
    try:
        for name in names:
            try:
                module, genome = load(run_dir, name, plugins)
            except LoadError as err:
                raise RunError(str(err)) from None
            if task_name == "gan":
                scores = task.generator_scores(module.generator, n_images=fid_images, splits=splits, seed=seed)
                results[name] = scores.to_dict()
            elif task_name == "rl":
                state = {"model": _weights(run_dir / name / "model.pt"), "shadows": {}, "optim": {}, "meta": {}}
                out = video if (video is not None and name == names[0]) else None
                returns = task.evaluate_episodes(state, genome, seed, episodes, video=out)
                results[name] = {"mean_return": statistics.fmean(returns),
                                 "std_return": statistics.pstdev(returns) if len(returns) > 1 else 0.0,
                                 "episodes": len(returns), "returns": returns,
                                 **({"video": str(out)} if out is not None else {})}
            elif task_name == "classify":
                state = {"model": _weights(run_dir / name / "model.pt"), "shadows": {}, "optim": {}, "meta": {}}
                results[name] = {"fitness": task.evaluate(state, genome, seed), **_test_results(task, state, genome,
                                                                                               run_dir, name)}
            else:
                state = {"model": _weights(run_dir / name / "model.pt"), "shadows": {}, "optim": {}, "meta": {}}
                fitness = task.evaluate(state, genome, seed)
                results[name] = {"fitness": fitness}
            results[name]["genome"] = space.to_json_genome(genome)["choices"]
    finally:
        close = getattr(task, "close", None)
        if close is not None:
            close()
    _write_metrics(run_dir, results)
    return results


def _test_results(task: Any, state: Any, genome: Any, run_dir: Path, name: str) -> dict[str, Any]:
    """A classify network's test accuracy and confusion matrix (RUN/confusion_<name>.png); a note when the data
    has no test split."""
    from pbtnas.tasks.classify.evaluation import score_test_split, write_confusion_png

    if task.data.x_test is None:
        return {"test_accuracy": None, "note": "no test split: hold one out with --task-option test_fraction=0.2"}
    scores = score_test_split(task, state, genome)
    png = write_confusion_png(scores, run_dir / f"confusion_{name}.png", f"{run_dir.name}/{name}")
    return {**scores.to_dict(), "confusion_png": str(png)}


def classify_test_scores(run_dir: str | Path, uid: int | None = None, *, which: str = "best",
                      plugins: list[str] | None = None) -> dict[str, Any]:
    """The test split's scores of one network of a finished classify run: member ``uid`` of the final population,
    or (``uid=None``) the saved network ``which`` (best: the final best, chosen on validation; best_ever; a soup
    folder). Returns ``test_accuracy``, ``test_samples``, ``confusion_matrix`` (rows: true class), ``class_names``,
    the validation ``fitness`` and the ``genome`` (option names). Writes nothing."""
    from pbtnas.tasks.classify.evaluation import score_test_split

    run_dir = Path(run_dir)
    task_name = _config(run_dir).get("task")
    if task_name != "classify":
        raise RunError(f"test accuracy is measured for classify runs; {run_dir} ran task {task_name!r}")
    _, task, space = open_task(run_dir, plugins)
    if uid is None:
        try:
            _, genome = load(run_dir, which, plugins)
        except LoadError as err:
            raise RunError(str(err)) from None
        state = {"model": _weights(run_dir / which / "model.pt"), "shadows": {}, "optim": {}, "meta": {}}
    else:
        genome, state = _final_member(run_dir, space, uid)
    try:
        scores = score_test_split(task, state, genome)
    except ValueError as err:  # no test split
        raise RunError(f"{run_dir}: {err}") from None
    return {**scores.to_dict(), "fitness": task.evaluate(state, genome, 0),
            "genome": space.to_json_genome(genome)["choices"]}


def _final_member(run_dir: Path, space: Any, uid: int) -> tuple[Any, Any]:
    """Genome and state of member ``uid`` of a finished run's final population."""
    from pbtnas.engine.rundir import RunDir

    run = RunDir(run_dir)
    try:
        progress = run.read_progress() or {}
        epoch = int(progress["epoch"])
        members = run.read_json(run.population_path(epoch))["members"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunError(f"{run_dir}: the final population cannot be read ({type(err).__name__}: {err})") from None
    member = next((m for m in members if m.get("uid") == uid), None)
    if member is None:
        raise RunError(f"{run_dir}: no member {uid} in the final population (members: "
                       f"{', '.join(str(m.get('uid')) for m in members)})")
    return space.validate(list(member["genome"])), _weights(run.checkpoint_path(epoch, int(member["slot"])))


def format_results(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, r in results.items():
        if "fid" in r:
            lines.append(f"{name:>10}: {r.get('fid_name', 'FID')} {r['fid']:.3f}   "
                         f"{r.get('is_name', 'IS')} {r['is_mean']:.3f} ± {r['is_std']:.3f} "
                         f"({r.get('n_images')} images, {r.get('splits')} splits)")
        elif "mean_return" in r:
            lines.append(f"{name:>10}: return {r['mean_return']:.1f} ± {r['std_return']:.1f} "
                         f"over {r['episodes']} episodes" + (f"   video {r['video']}" if "video" in r else ""))
        elif r.get("test_accuracy") is not None:
            lines.append(f"{name:>10}: test accuracy {r['test_accuracy']:.4f} ({r['test_samples']} samples), "
                         f"validation {r['fitness']:.4f}   confusion matrix {r['confusion_png']}")
        else:
            value = r.get("fitness", math.nan)
            lines.append(f"{name:>10}: fitness {value:.4f}" + (f"   ({r['note']})" if "note" in r else ""))
    return lines


def sample_run(run_dir: Path, out: Path, grid: str = "8x8", seed: int = 0, which: str = "best") -> Path:
    """An image grid from the generator of a GAN run's saved network."""
    run_dir = Path(run_dir)
    try:
        out = output_path(out, "--out")
    except UnsafeName as err:
        raise RunError(str(err)) from None
    cfg = _config(run_dir)
    if cfg.get("task") != "gan":
        raise RunError(f"`pbtnas sample RUN` draws images from a GAN run; {run_dir} ran task {cfg.get('task')!r}")
    from pbtnas.tasks.gan import sample
    from pbtnas.tasks.gan.task import int_constant

    try:
        module, _ = load(run_dir, which)
    except LoadError as err:
        raise RunError(str(err)) from None
    try:
        space = load_space_of_run(run_dir)
    except LoadError as err:
        raise RunError(str(err)) from None
    try:
        return sample(module.generator, int_constant(space, "latent_dim"), out=out, grid=grid, seed=seed)
    except ValueError as err:  # a malformed --grid
        raise RunError(str(err)) from None
