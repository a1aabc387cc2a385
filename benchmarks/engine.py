"""Engine benchmark: prints the figures and writes them to benchmarks/results/engine.json.

(a) overhead = wall time of a search / (sum of member train + eval seconds / workers), target <= 1.03 with 2 workers
(b) one mixing (build the child's fresh network, shrink-perturb, load) of a full-width GanHard model, target < 2 s
(c) speed-up of 2 workers over 1 on the same search, target >= 1.9; beside it the speed-up the members' own compute
    allows, 2 x (member seconds with 1 worker / with 2): members training side by side on the two cores each train
    slower (shared caches and memory bandwidth), which no engine removes
(d) where (a)'s overhead goes: serialisation in the workers, Ray between jobs, workers waiting for work (driver,
    barrier), the idle tail (pbtnas/engine/utilisation.py), as fractions of the members' compute

Run: .venv/bin/python benchmarks/engine.py [--population 8 --epochs 8 --step 2] [--repeat 5]

``--repeat N`` runs (a), (c) and the state round trip N times on one Ray session; the JSON keeps every run under
``runs`` and their min / median / max under ``summary``, so a range quoted from it is one the file holds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "engine.json"
# The pbtnas of this checkout, in this process and in the Ray workers (which inherit PYTHONPATH), whatever
# checkout an editable install of the environment points at.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))


def classify_space() -> tuple[Any, str]:
    """spaces/digits.nas through the real compiler; the engine tests' double if the compiler cannot export it."""
    try:
        from pbtnas.compiler import CompiledSpace, compile_space

        space = compile_space(str(ROOT / "spaces" / "digits.nas"))
        CompiledSpace.from_json(space.to_json())  # workers receive the artifact
        return space, "spaces/digits.nas"
    except Exception as err:  # noqa: BLE001 - report which space was measured, and why
        sys.path.insert(0, str(ROOT / "tests" / "engine"))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "engine"), os.environ.get("PYTHONPATH", "")])
        from engine_double import DoubleSpace

        return DoubleSpace(n_layers=3, width=32), f"tests/engine double (digits.nas unavailable: {type(err).__name__}: {err})"


def search_once(space: Any, workers: int, args: argparse.Namespace) -> dict[str, float]:
    from pbtnas.engine.commands import resolve_task_options, run_search
    from pbtnas.engine.config import SearchConfig
    from pbtnas.engine.utilisation import breakdown_of_run

    cfg = resolve_task_options(
        SearchConfig(space="bench", population=args.population, epochs=args.epochs, step=args.step, seed=0,
                     workers=workers, progress=False)
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_search(cfg, space, Path(tmp) / "run", keep_workers=True)
        total = time.perf_counter() - t0
        packed = packing_bound(Path(tmp) / "run", workers)
        parts = breakdown_of_run(Path(tmp) / "run")
    ideal = summary.member_seconds / workers
    return {"workers": workers, "search_wall_s": summary.wall_seconds, "wall_with_setup_s": total,
            "member_seconds": summary.member_seconds, "overhead_ratio": summary.wall_seconds / ideal,
            "longest_first_packing_s": packed, "best_fitness": summary.best_fitness, "breakdown": parts.as_dict()}


def packing_bound(run: Path, workers: int) -> float:
    """Sum over steps of the longest-first packing of that step's measured job times onto ``workers``: about what a
    step-synchronous engine with no cost of its own would take. Overlapping steps (survivors start the next step
    before the selection) can end below it; the 1-worker overhead shows the engine's per-job cost alone."""
    total = 0.0
    for path in sorted((run / "population").glob("epoch_*.json")):
        jobs = sorted((e["train_seconds"] + e["eval_seconds"] for e in json.loads(path.read_text())["evaluated"]
                       if e.get("train_seconds") is not None), reverse=True)
        loads = [0.0] * workers
        for seconds in jobs:
            loads[loads.index(min(loads))] += seconds
        total += max(loads)
    return total


def mixing_ganhard(repeats: int) -> dict[str, Any]:
    from pbtnas.engine.mixing import draw_inherited, mix_states
    from pbtnas.engine.statedict import ShrinkPerturb

    try:
        from pbtnas.compiler import compile_space

        space = compile_space(str(ROOT / "spaces" / "ganhard.nas"))
    except Exception as err:  # noqa: BLE001
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"}
    rng = np.random.default_rng(0)
    base_g, donor_g = space.random_genome(rng), space.random_genome(rng)
    base = space.build(base_g, seed=1).state_dict()
    donor = space.build(donor_g, seed=2).state_dict()
    params = sum(v.numel() for v in base.values())
    base_state = {"model": base, "shadows": {}, "optim": {}, "meta": {}}
    donor_state = {"model": donor, "shadows": {}, "optim": {}, "meta": {}}
    times = []
    for r in range(repeats):
        plan = draw_inherited(np.random.default_rng(r), space.genes, base_g.values, donor_g.values, 0.25)
        t0 = time.perf_counter()
        child_genome = space.validate(list(plan.child_genome))
        fresh_model = space.build(child_genome, seed=100 + r)
        child = mix_states(space, base_state, donor_state, fresh_model.state_dict(), plan.inherited, ShrinkPerturb())
        fresh_model.load_state_dict(child["model"], strict=True)
        times.append(time.perf_counter() - t0)
    return {"genes": len(space.genes), "base_parameters": params, "median_s": statistics.median(times),
            "max_s": max(times), "repeats": repeats}


def wire_round_trip(repeats: int) -> dict[str, Any]:
    """A full-width GanHard member state (model, EMA shadow, two Adam moments) sent to a Ray task and back, as torch
    tensors and in the engine's wire format (numpy arrays): why states travel as numpy (pbtnas/engine/wire.py)."""
    import ray

    from pbtnas.compiler import compile_space
    from pbtnas.engine.wire import from_wire, to_wire

    space = compile_space(str(ROOT / "spaces" / "ganhard.nas"))
    model = space.build(space.random_genome(np.random.default_rng(0)), seed=0).state_dict()
    state = {"model": model, "shadows": {"ema": {k: v.clone() for k, v in model.items()}},
             "optim": {k: {"exp_avg": v.clone(), "exp_avg_sq": v.clone()} for k, v in model.items()}, "meta": {}}
    megabytes = 4 * sum(v.numel() * v.element_size() for v in model.values()) / 1e6
    echo = ray.remote(num_cpus=1)(lambda s: s)
    out: dict[str, Any] = {"state_mb": megabytes}
    for name, send, receive in (("tensors_s", lambda s: s, lambda s: s), ("wire_s", to_wire, from_wire)):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            receive(ray.get(echo.remote(ray.put(send(state)))))
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


# The per-run figures summarised over the runs: name -> where it sits in one run's record.
SUMMARISED: dict[str, tuple[str, ...]] = {
    "overhead_ratio_2_workers": ("overhead_ratio_2_workers",),
    "overhead_ratio_1_worker": ("overhead_ratio_1_worker",),
    "speedup_2_over_1": ("speedup_2_over_1",),
    "speedup_bound_by_member_compute": ("speedup_bound_by_member_compute",),
    "round_trip_tensors_s": ("ganhard_state_round_trip", "tensors_s"),
    "round_trip_wire_s": ("ganhard_state_round_trip", "wire_s"),
}


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every run's value of each figure, in run order, with its min, median and max."""
    out: dict[str, dict[str, Any]] = {}
    for name, path in SUMMARISED.items():
        values = []
        for run in runs:
            value: Any = run
            for key in path:
                value = value[key]
            values.append(float(value))
        out[name] = {"runs": values, "min": min(values), "median": statistics.median(values), "max": max(values)}
    return out


def driver_cost(space: Any, population: int, epochs: int, workers: int, profile: Path | None = None) -> dict[str, Any]:
    """The driver's own CPU time per member per step (its process, every thread: bookkeeping, dispatching,
    serialising and writing checkpoints, Ray's client side), from the steps of ``RUN/timings.json``; the members'
    training runs in the actors and is not in it. 1-epoch steps on 64 training images keep the members short."""
    from pbtnas.engine.commands import resolve_task_options, run_search
    from pbtnas.engine.config import SearchConfig

    cfg = resolve_task_options(
        SearchConfig(space="bench", population=population, epochs=epochs, step=1, seed=0, workers=workers,
                     progress=False, task_options={"train_limit": 64})
    )
    with tempfile.TemporaryDirectory() as tmp:
        load = os.getloadavg()[0]
        if profile is not None:  # the driver's thread only: where its per-step work goes (benchmarks/results/*.prof)
            import cProfile

            profiler = cProfile.Profile()
            summary = profiler.runcall(run_search, cfg, space, Path(tmp) / "run", keep_workers=True)
            profiler.dump_stats(str(profile))
        else:
            summary = run_search(cfg, space, Path(tmp) / "run", keep_workers=True)
    assert summary.timings is not None
    steps = [p for p in summary.timings.phases if p.name.startswith("step ")]
    cpu = sum(p.cpu_seconds for p in steps)
    wall = sum(p.seconds for p in steps)
    per = population * len(steps)
    return {"population": population, "workers": workers, "steps": len(steps), "load_average_before": load,
            "driver_cpu_ms_per_member_step": 1000 * cpu / per, "wall_ms_per_member_step": 1000 * wall / per,
            "member_ms_per_member_step": 1000 * summary.member_seconds / per,
            "driver_cpu_s_per_step": cpu / len(steps), "overhead_ratio": wall / (summary.member_seconds / workers)}


def sweep(space: Any, sizes: list[int], epochs: int, profile_largest: bool) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        profile = RESULTS.parent / f"engine_driver_n{n}.prof" if profile_largest and n == max(sizes) else None
        row = driver_cost(space, n, epochs, 2, profile)
        rows.append(row)
        print(f"N = {n:4d} (load average {row['load_average_before']:.1f}): driver CPU "
              f"{row['driver_cpu_ms_per_member_step']:.2f} ms per member per step ({row['driver_cpu_s_per_step']:.2f} s "
              f"per step), wall {row['wall_ms_per_member_step']:.1f} ms, members {row['member_ms_per_member_step']:.1f} ms"
              + (f"; profile: {profile.relative_to(ROOT)}" if profile else ""), flush=True)
    return rows


def one_run(space: Any, args: argparse.Namespace) -> dict[str, Any]:
    """(a), (c) and the state round trip once: a 1-worker and a 2-worker search of the same config."""
    from pbtnas.engine.commands import release_kept_workers

    load = os.getloadavg()[0]
    one = search_once(space, 1, args)
    two = search_once(space, 2, args)
    release_kept_workers()
    wire = wire_round_trip(3)
    return {"load_average_before": load, "one_worker": one, "two_workers": two,
            "overhead_ratio_2_workers": two["overhead_ratio"], "overhead_ratio_1_worker": one["overhead_ratio"],
            "speedup_2_over_1": one["search_wall_s"] / two["search_wall_s"],
            "speedup_bound_by_member_compute": 2 * one["member_seconds"] / two["member_seconds"],
            "ganhard_state_round_trip": wire}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--mix-repeats", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="runs of (a), (c) and the round trip; all recorded")
    parser.add_argument("--sweep", type=str, default=None,
                        help="only the driver's cost per member per step for these N (e.g. 8,32,128,512), 2 workers; "
                             "written to benchmarks/results/engine_sweep.json")
    parser.add_argument("--sweep-epochs", type=int, default=3, help="1-epoch steps per sweep search")
    parser.add_argument("--profile", action="store_true", help="cProfile the driver's thread at the sweep's largest N")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    torch.set_num_threads(1)

    import ray

    load_before = os.getloadavg()[0]
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # removed again below, before Ray starts
    from _machine import cpu_model

    space, space_label = classify_space()  # before ray.init: workers inherit PYTHONPATH from this process
    # Ray puts the driver's script directory on its workers' sys.path; benchmarks/ holds gan.py, rl.py and this
    # engine.py, which would shadow modules of those names in the workers (the actors then never start).
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="ERROR",
             log_to_driver=False)
    if args.sweep:
        sizes = [int(n) for n in args.sweep.split(",")]
        rows = sweep(space, sizes, args.sweep_epochs, args.profile)
        ray.shutdown()
        out = RESULTS.parent / "engine_sweep.json"
        out.write_text(json.dumps({"machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "torch": torch.__version__,
                                               "load_average_before": load_before,
                                               "load_average_after": os.getloadavg()[0]},
                                   "classify_space": space_label, "epochs": args.sweep_epochs, "rows": rows},
                                  indent=2) + "\n")
        print(f"written to {out.relative_to(ROOT)}")
        return
    runs = []
    for r in range(args.repeat):
        runs.append(one_run(space, args))
        run = runs[-1]
        print(f"run {r + 1}/{args.repeat} (load average {run['load_average_before']:.1f}): overhead 2 workers "
              f"{run['overhead_ratio_2_workers']:.3f}, 1 worker {run['overhead_ratio_1_worker']:.3f}; speed-up "
              f"{run['speedup_2_over_1']:.2f}x; round trip {run['ganhard_state_round_trip']['wire_s']:.2f} s wire, "
              f"{run['ganhard_state_round_trip']['tensors_s']:.2f} s tensors", flush=True)
    ray.shutdown()
    torch.set_num_threads(2)
    mixing = mixing_ganhard(args.mix_repeats)

    summary = summarise(runs)
    wire_mb = runs[0]["ganhard_state_round_trip"]["state_mb"]
    results = {
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__,
                    # other work on the machine distorts (a) and (c): the 1-minute load average around the runs
                    "load_average_before": load_before, "load_average_after": os.getloadavg()[0]},
        "classify_space": space_label,
        "search": {"population": args.population, "epochs": args.epochs, "step": args.step},
        "repeat": args.repeat,
        "summary": summary,
        "runs": runs,
        "ganhard_mixing": mixing,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    def span(name: str, fmt: str) -> str:
        f = summary[name]
        runs_text = ", ".join(format(v, fmt) for v in f["runs"])
        return runs_text if args.repeat == 1 else f"{runs_text} (median {format(f['median'], fmt)})"

    print(f"classify space: {space_label}; load average {load_before:.1f} before, "
          f"{results['machine']['load_average_after']:.1f} after ({os.cpu_count()} CPUs); {args.repeat} run(s)")
    print(f"(a) engine overhead, 2 workers: {span('overhead_ratio_2_workers', '.3f')}; 1 worker: "
          f"{span('overhead_ratio_1_worker', '.3f')} (target <= 1.03 with 2 workers)")
    last = runs[-1]["two_workers"]
    print(f"    last run, 2 workers: member seconds / 2 = {last['member_seconds'] / 2:.2f} s, step-synchronous "
          f"longest-first packing = {last['longest_first_packing_s']:.2f} s, search wall = {last['search_wall_s']:.2f} s")
    for label in ("one_worker", "two_workers"):
        b = runs[-1][label]["breakdown"]
        shares = ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in b["shares"].items())
        print(f"    last run, {b['workers']} worker(s), from the first job handed to Ray to the last result: "
              f"{b['overhead_ratio']:.3f}x the compute = 1 + {shares}")
    if "error" in mixing:
        print(f"(b) GanHard mixing: not measured ({mixing['error']})")
    else:
        print(f"(b) GanHard mixing: median {mixing['median_s']:.3f} s, max {mixing['max_s']:.3f} s "
              f"({mixing['base_parameters'] / 1e6:.1f} M parameters; target < 2 s)")
    print(f"    a GanHard member state ({wire_mb:.0f} MB) through a Ray task and back, median of 3 per run: "
          f"{span('round_trip_tensors_s', '.2f')} s as tensors, {span('round_trip_wire_s', '.2f')} s in the wire "
          f"format (numpy)")
    print(f"(c) speed-up of 2 workers over 1: {span('speedup_2_over_1', '.2f')}x (target >= 1.9); the members' "
          f"compute allows {span('speedup_bound_by_member_compute', '.2f')}x")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
