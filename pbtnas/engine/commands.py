"""The implementations of ``pbtnas search`` and ``pbtnas soup`` (the typer wiring is in ``pbtnas/cli/search.py``).

User errors raise ``UserError`` with a message meant to be printed as is; the CLI turns it into a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from pbtnas.engine.budget import countable
from pbtnas.engine.config import EXECUTION_OPTIONS, SearchConfig, load_config_file, validate_config
from pbtnas.engine.driver import Driver, NullProgress, RunSummary
from pbtnas.engine.loading import LoadError, load_space_of_run
from pbtnas.engine.names import UnsafeName, output_path, safe_name
from pbtnas.engine.population import Member
from pbtnas.engine.rundir import (
    FORMAT_VERSION,
    CheckpointError,
    RunDir,
    RunDirError,
    RunLogHandler,
    atomic_write_json,
    load_state,
)
from pbtnas.engine.seeding import Purpose, derive_seed
from pbtnas.errors import Interrupted, Terminated, UserError
from pbtnas.engine.selection import rank
from pbtnas.engine.soup import greedy_soup
from pbtnas.engine.timings import Timings
from pbtnas.tasks.registry import UnknownTask, get_task

__all__ = ["TASK_SHORTCUTS", "UserError", "compile_space_for", "run_search", "search", "search_values", "soup"]

log = logging.getLogger("pbtnas.engine")


# Options of `pbtnas search` that are task options (`--data cifar10` is `--task-option data=cifar10`).
TASK_SHORTCUTS = ("preset", "data", "data_root", "download", "inception_weights", "env", "obs", "shared_replay")


def _pairs(items: dict[str, Any] | list[str] | None, what: str) -> dict[str, str]:
    if isinstance(items, dict):
        return dict(items)
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip():
            raise UserError(f"{what} expects NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _schedule(items: list[Any]) -> list[Any]:
    rules: list[Any] = []
    for item in items:
        if not isinstance(item, str):  # already {"until_epoch": ..., "step": ...}: the config validates it
            rules.append(item)
            continue
        until, sep, step = item.partition(":")
        if not sep or not until.strip().isdigit() or not step.strip().isdigit():
            raise UserError(f"--step-schedule expects UNTIL_EPOCH:STEP (e.g. 150:20), got {item!r}")
        rules.append({"until_epoch": int(until), "step": int(step)})
    return rules


def search_values(options: dict[str, Any]) -> dict[str, Any]:
    """The options of ``pbtnas search`` (None: not given) as the values of a config, as the CLI and ``pbtnas.search``
    both pass them: ``overrides`` and ``task_options`` as dicts or ``NAME=VALUE`` strings (a task option's value is
    JSON when it parses), ``step_schedule`` as ``UNTIL:STEP`` strings or dicts, the task shortcuts (``data``,
    ``preset``, ...) moved into ``task_options``. Unknown names are left for the config to refuse."""
    values = {k: v for k, v in options.items() if v is not None and k not in TASK_SHORTCUTS}
    if values.get("overrides"):
        values["overrides"] = _pairs(values["overrides"], "--set")
    else:  # an empty `--set` list is no option given (a resumed run refuses any change but execution options)
        values.pop("overrides", None)
    task_options = {k: _json_or_text(v) for k, v in _pairs(values.pop("task_options", None),
                                                            "--task-option").items()}
    task_options.update({k: options[k] for k in TASK_SHORTCUTS if options.get(k) is not None})
    if task_options:
        values["task_options"] = task_options
    if values.get("step_schedule"):
        values["step_schedule"] = _schedule(list(values["step_schedule"]))
    else:
        values.pop("step_schedule", None)
    return values


def space_loader_of(space: Any) -> str:
    cls = type(space)
    return f"{cls.__module__}:{cls.__qualname__}"


def compile_space_for(cfg: SearchConfig) -> Any:
    path = Path(cfg.space)
    if not path.exists():
        raise UserError(f"space file not found: {cfg.space}")
    from pbtnas.compiler import CompiledSpace, compile_space  # type: ignore[attr-defined]
    from pbtnas.compiler.commands import load_plugins

    load_plugins(cfg.plugins)  # their ops before the space names them (a DiagnosticError when one cannot import)
    if path.suffix == ".json":
        if cfg.overrides:
            raise UserError("--set does not apply to a compiled .json space; compile the .nas file instead")
        try:
            return CompiledSpace.from_json(path.read_text())
        except (OSError, ValueError, KeyError, TypeError) as err:  # not a compiled artifact pbtnas wrote
            raise UserError(f"{path} is not a compiled space artifact ({type(err).__name__}: {err})") from None
    # A DiagnosticError is a UserError (exit 1) whose message is the file:line:col diagnostics
    return compile_space(str(path), overrides={**task_space_overrides(cfg), **cfg.overrides})


def task_space_overrides(cfg: SearchConfig) -> dict[str, str]:
    """Constants the task derives from its options (the RL environment's action size, say); `--set` wins."""
    hook = getattr(get_task(cfg.task), "space_overrides", None)
    if hook is None:
        return {}
    try:
        return {k: str(v) for k, v in hook(cfg.task_options).items()}
    except ValueError as err:  # an unknown environment, invalid options: the task's own message
        raise UserError(f"task {cfg.task!r} cannot set up its space: {err}") from None


def preflight_task(cfg: SearchConfig, space: Any = None) -> None:
    """The task's own checks (data and weight files; the space against the data) in the driver, before Ray starts
    and before the run directory exists; validating a config does not run them, running it does."""
    task_cls = get_task(cfg.task)
    preflight = getattr(task_cls, "preflight", None)
    if preflight is None:
        return
    try:
        preflight(task_cls.Options.model_validate(cfg.task_options), space)
    except (ValueError, OSError) as err:  # a missing dataset or weights file (the tasks' own error types)
        raise UserError(str(err)) from None


def resolve_task_options(cfg: SearchConfig) -> SearchConfig:
    """Validate the task's options now (a typo fails before Ray starts) and give ``data_seed`` the run seed."""
    try:
        task_cls = get_task(cfg.task)
    except UnknownTask as err:
        raise UserError(str(err)) from None
    options = dict(cfg.task_options)
    if "data_seed" in task_cls.Options.model_fields and options.get("data_seed") is None:
        options["data_seed"] = cfg.seed
    if "run_epochs" in task_cls.Options.model_fields and options.get("run_epochs") is None:
        options["run_epochs"] = cfg.epochs  # the horizon of a learning-rate schedule
    try:
        validated = task_cls.Options.model_validate(options)
    except ValueError as err:  # pydantic's ValidationError
        raise UserError(f"invalid task options for {cfg.task!r}:\n{err}") from None

    return cfg.model_copy(update={"task_options": validated.model_dump(mode="json")})


# A task preset recommends engine settings (the paper's N, budget and e_step) under these names.
PRESET_ENGINE_FIELDS = {"population": "population", "epochs": "epochs", "e_step": "step",
                        "step_schedule": "step_schedule"}


def apply_preset_engine_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Fill population / epochs / step / step_schedule from the task's preset where the user gave none.

    Only an explicit preset (`--preset paper`, `--preset tiny`) does this: the task's own defaults never change the
    engine's. The user's values always win."""
    if not isinstance(values.get("task_options") or {}, dict):
        raise UserError(f"task_options must be a table of options, got {values['task_options']!r}")
    options = dict(values.get("task_options") or {})
    if options.get("preset") in (None, "default"):
        return values
    try:
        task_cls = get_task(values.get("task", "classify"))
        validated = task_cls.Options.model_validate(options)
    except UnknownTask:
        raise
    except ValueError as err:  # pydantic's ValidationError
        raise UserError(f"invalid task options for {values.get('task')!r}:\n{err}") from None
    out = dict(values)
    for field, engine_key in PRESET_ENGINE_FIELDS.items():
        if engine_key not in out and field in type(validated).model_fields:
            value = getattr(validated, field)
            if value is not None and value != []:
                out[engine_key] = value
    return out


def default_run_dir(cfg: SearchConfig, space_name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    # The space's name comes from a file (a compiled .json artifact can say anything): one plain component.
    return Path("runs") / safe_name(f"{space_name}-{cfg.algorithm}-{stamp}", "the default run name")


def _setup_logging(run: RunDir) -> logging.Handler:
    handler = RunLogHandler(run.log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("pbtnas")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


# Pools kept alive between searches of one process when asked (keep_workers=True): tests and benchmarks run many
# small searches, and starting an actor (a Python process importing torch) costs seconds.
_KEPT_POOLS: dict[tuple[Any, ...], Any] = {}


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def release_kept_workers() -> None:
    """Stop the actors kept by ``run_search(keep_workers=True)`` (they hold their CPUs until then)."""
    while _KEPT_POOLS:
        _, pool = _KEPT_POOLS.popitem()
        pool.shutdown()


def run_search(
    cfg: SearchConfig,
    space: Any,
    run_dir: Path,
    resume: bool = False,
    progress: Any = None,
    keep_workers: bool = False,
    timings: Timings | None = None,
    launched: Any = None,
) -> RunSummary:
    """Run (or resume) a search of ``space`` into ``run_dir``. Starts or joins Ray as configured, unless
    ``launched`` is a pool of actors ``launch_pool`` started meanwhile. ``timings`` (a new record if None) gets
    the phases of the search and is written to ``RUN/timings.json``."""
    import ray
    from pbtnas.engine.execution import ActorPool, ensure_ray

    timings = timings or Timings()
    run = RunDir(run_dir)
    stack = ExitStack()
    if not resume:
        run.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            run.root / "run.json",
            {
                "format": FORMAT_VERSION,
                "space": space.name,
                "schema_hash": space.schema_hash,
                "algorithm": cfg.algorithm,
                "created": datetime.now().isoformat(timespec="seconds"),
            },
        )
        atomic_write_json(run.config_path, cfg.model_dump(mode="json"))
        atomic_write_json(run.space_path, {"loader": space_loader_of(space), "artifact": space.to_json()})
    handler = _setup_logging(run)
    try:
        if launched is None:
            with timings.phase("ray start"):
                ensure_ray(cfg.address, cfg.ray_bind)
        # After ray.init, which installs a handler that dumps the process state on SIGTERM and dies: a job
        # scheduler's SIGTERM (preemption, time limit) then ends the search like Ctrl-C.
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            stack.callback(signal.signal, signal.SIGTERM, signal.signal(signal.SIGTERM, _raise_terminated))
        workers = len(launched) if launched is not None else worker_count(cfg)
        runner_kwargs = {
            "space_loader": space_loader_of(space),
            "space_json": space.to_json(),
            "task_name": cfg.task,
            "task_options": cfg.task_options,
            "workdir": str(run.root / "workdirs"),
            "plugins": cfg.plugins,
        }
        key = (ray.get_runtime_context().get_job_id(), workers, cfg.cpus_per_member, cfg.gpus_per_member)
        pool = launched if launched is not None else _KEPT_POOLS.pop(key, None) if keep_workers else None
        if pool is None:
            release_kept_workers()  # kept actors of another shape hold CPUs the new pool needs
        if countable(space):  # population files carry each member's FLOPs
            from pbtnas.compiler.flops import warm_up_in_background

            warm_up_in_background()
        with timings.phase("actor start"):
            if pool is not None:
                pool.reconfigure(runner_kwargs)  # a launched pool waits here for the rest of its start
                pool.restarts = 0
            else:
                pool = ActorPool(workers, runner_kwargs, cfg.cpus_per_member, cfg.gpus_per_member)
        sink = progress or NullProgress()
        try:
            driver = Driver(cfg, space, run, pool, sink, timings)
            with timings.phase("initial population"):
                if resume:
                    driver.resume()
                else:
                    driver.initialise()
            log.info("search %s: %d workers, %s", run.root.name, workers, "resumed" if resume else "started")
            summary = driver.run_all()
            with timings.phase("close task"):
                pool.run_calls("close_task", [()])
        finally:
            from pbtnas.engine.tensorboard import close as close_tensorboard

            close_tensorboard(run.root)
            if hasattr(sink, "stop"):
                sink.stop()
            pool.dispatcher.cancel_all()  # a search that raised may leave its next step's jobs queued
            if keep_workers:
                _KEPT_POOLS[key] = pool
            else:
                pool.shutdown()
        timings.lap("shutdown")
        summary.timings = timings
        write_timings(run, timings)
        log.info("finished: best fitness %s; %s", summary.best_fitness, timings.line())
        return summary
    except KeyboardInterrupt as stop:
        log.warning("search stopped by %s", "SIGTERM" if isinstance(stop, Terminated) else "SIGINT")
        raise
    except UserError as err:
        log.error("search stopped: %s", err)
        raise
    except Exception:  # a bug: its traceback is in RUN/log.txt even when the CLI shows only the message
        log.exception("internal error")
        raise
    finally:
        stack.close()
        logging.getLogger("pbtnas").removeHandler(handler)
        handler.close()


def search(cli_values: dict[str, Any], config_file: Path | None, resume: Path | None) -> tuple[RunSummary, Path]:
    """``pbtnas search``: ``cli_values`` holds only the options given on the command line."""
    from pbtnas.engine.progress import RichProgress

    timings = Timings.since_process_start()
    if resume is not None:
        run = RunDir(resume)
        if not run.config_path.exists():  # without progress.json it starts again (killed while initialising)
            raise UserError(f"{resume} is not a run directory that can be resumed (no config.json)")
        # --plugin names the modules the run recorded, to import them again (a run directory cannot by itself)
        changed = {k for k in cli_values if k not in EXECUTION_OPTIONS and k not in ("space", "plugins")}
        if config_file is not None or changed:
            raise UserError(
                "--resume continues a run with its own configuration; only execution options "
                f"({', '.join(sorted(EXECUTION_OPTIONS))}) may be given, not: {', '.join(sorted(changed)) or '--config'}"
            )
        try:
            stored = run.read_json(run.config_path)
        except (OSError, ValueError) as err:
            raise UserError(f"{run.config_path} is not readable JSON: {err}") from None
        if not isinstance(stored, dict):
            raise UserError(f"{run.config_path} is not a configuration (a JSON object)")
        stored.update({k: v for k, v in cli_values.items() if k in EXECUTION_OPTIONS})
        cfg = validate_config(stored, str(run.config_path))
        try:
            space = load_space_of_run(run.root, cli_values.get("plugins"))
        except LoadError as err:
            raise UserError(str(err)) from None
        run_dir = run.root
    else:
        values: dict[str, Any] = load_config_file(config_file) if config_file else {}
        values.update(cli_values)
        if "space" not in values:
            raise UserError("give the space to search (pbtnas search SPACE.nas) or `space = ...` in the config")
        values = apply_preset_engine_settings(values)
        cfg = resolve_task_options(validate_config(values, str(config_file) if config_file else "options"))
        space = compile_space_for(cfg)
        run_dir = output_path(cfg.out, "the run directory (out)") if cfg.out else default_run_dir(cfg, space.name)
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"{run_dir} exists and is not a directory; give --out a new or empty folder")
        if run_dir.exists() and any(run_dir.iterdir()):
            raise UserError(f"{run_dir} already exists and is not empty; use --resume {run_dir} to continue it")
    preflight_task(cfg, space)  # every user mistake is reported before Ray starts
    timings.lap("config and compile")
    pool = launch_pool(cfg, timings)  # the actors import torch and the task while the driver goes on
    try:
        progress = RichProgress(len(cfg.steps())) if cfg.progress else None
        summary = run_search(cfg, space, run_dir, resume=resume is not None, progress=progress, timings=timings,
                             launched=pool)
    except KeyboardInterrupt as stop:
        pool.shutdown()
        raise Interrupted(signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT, run_dir) from None
    except BaseException:
        pool.shutdown()  # idempotent: run_search shut it down unless it stopped before taking it
        raise
    return summary, run_dir


def worker_count(cfg: SearchConfig) -> int:
    """The search's actors: ``workers`` when given, else as many as the resources hold."""
    from pbtnas.engine.execution import default_workers

    return cfg.workers or default_workers(cfg.population, cfg.cpus_per_member, cfg.gpus_per_member)


def launch_pool(cfg: SearchConfig, timings: Timings) -> Any:
    """Start (or join) Ray and launch the search's actors without waiting for them to start: a Ray worker process
    importing torch and the task takes seconds, which now overlap the driver's own start (preflight, run directory,
    logging, the initial genomes). ``run_search`` gives them the space and waits."""
    from pbtnas.engine.execution import ActorPool, ensure_ray

    with timings.phase("ray start"):
        ensure_ray(cfg.address, cfg.ray_bind)
    with timings.phase("actor launch"):
        # Actors kept by this process's earlier searches (keep_workers: tests, notebooks) hold the CPUs the new
        # actors need: without this the new ones would wait for them forever.
        release_kept_workers()
        return ActorPool(worker_count(cfg), None, cfg.cpus_per_member, cfg.gpus_per_member, task_name=cfg.task)


def write_timings(run: RunDir, timings: Timings) -> None:
    """``RUN/timings.json``: where the search's wall time went (never a reason to fail a finished search)."""
    try:
        atomic_write_json(run.root / "timings.json", timings.to_json())
    except OSError as err:
        log.error("timings.json not written: %s", err)


SOUP_POPULATIONS = ("final", "best_ever")


def soup(run_dir: Path, target: str | None = None, name: str | None = None,
         population: str = "final", plugins: list[str] | None = None) -> dict[str, Any]:
    """``pbtnas soup RUN``: a greedy soup of the members that share the best genome, from the final population or
    (``population="best_ever"``) from the population of the step with the best fitness of the run, as the paper's
    GAN soups (Table 4)."""
    if population not in SOUP_POPULATIONS:
        raise UserError(f"--population must be one of {', '.join(SOUP_POPULATIONS)}, not {population!r}")
    default = "soup" if population == "final" else "soup_best_ever"
    try:  # checked first: the soup folder must stay inside the run directory
        if name is not None:
            folder = safe_name(name, "--name")
        else:
            folder = default if target is None else f"{default}_{target}"
    except UnsafeName as err:
        raise UserError(str(err)) from None
    run = RunDir(run_dir)
    try:
        progress = run.read_progress() if run.progress_path.is_file() else None
    except (OSError, ValueError) as err:
        raise UserError(f"{run.progress_path} is not readable JSON: {err}") from None
    if not isinstance(progress, dict) or not run.config_path.is_file():
        raise UserError(f"{run_dir} is not a pbtnas run directory")
    if not progress.get("complete"):
        raise UserError(f"{run_dir} has not finished (resume it first)")
    try:
        cfg = validate_config(run.read_json(run.config_path), str(run.config_path))
    except (OSError, ValueError) as err:  # ConfigError is a ValueError, as is a JSONDecodeError
        raise UserError(f"{run.config_path}: {err}") from None
    try:
        space = load_space_of_run(run.root, plugins)
    except LoadError as err:
        raise UserError(str(err)) from None
    if target is not None and target not in space.networks:
        raise UserError(f"unknown network {target!r}; the space has: {', '.join(space.networks)}")
    try:
        if population == "final":
            epoch = int(progress["epoch"])
            members = [Member.from_json(d) for d in run.read_json(run.population_path(epoch))["members"]]
            load = lambda slot: load_state(run.checkpoint_path(epoch, slot))  # noqa: E731
        else:
            if not progress.get("best_ever"):
                raise UserError(f"{run_dir} records no best-ever step")
            epoch = int(progress["best_ever"]["epoch"])
            raw, load = run.read_best_ever_population(epoch)
            members = [Member.from_json(d) for d in raw]
    except RunDirError as err:
        raise UserError(str(err)) from None
    except (KeyError, TypeError, ValueError, OSError) as err:
        raise UserError(f"{run.root}: the {population} population cannot be read ({type(err).__name__}: {err})") \
            from None
    # Members evaluated at that epoch (the final population has no unevaluated children; a best-ever step's
    # folder holds only evaluated members)
    healthy = [m for m in rank(members) if m.status == "ok" and m.fitness and m.fitness[-1][0] == epoch]
    if not healthy:
        raise UserError(f"no healthy member in the {population} population")
    best = healthy[0]
    same = [m for m in healthy if m.genome == best.genome]
    task_cls = get_task(cfg.task)
    task = task_cls(space, task_cls.Options.model_validate(cfg.task_options), None)
    genome = space.validate(list(best.genome))
    seed = derive_seed(cfg.seed, Purpose.SOUP)
    try:
        states = [load(m.slot) for m in same]
    except CheckpointError as err:
        raise UserError(str(err)) from None
    t0 = time.perf_counter()
    result = greedy_soup(states, lambda s: float(task.evaluate(s, genome, seed)), target)
    model = {k: v.detach().cpu() for k, v in task.final_module(result.state, genome).state_dict().items()}
    info = {
        "fitness": result.fitness,
        "best_member_fitness": result.baseline,
        "ingredients": [same[i].uid for i in result.ingredients],
        "candidates": [m.uid for m in same],
        "trials": [{"uid": same[i].uid, "fitness": f, "kept": k} for i, f, k in result.trials],
        "target": target,
        "population": population,
        "epoch": epoch,
        "seconds": time.perf_counter() - t0,
    }
    run.write_best(folder, model, space.to_json_genome(genome), info)
    return {"folder": str(run.root / folder), **info}
