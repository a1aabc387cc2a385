"""Engine benchmark: prints the figures and writes them to benchmarks/results/engine.json.

(a) overhead = wall time of a search / (sum of member train + eval seconds / workers), target <= 1.05
(b) one mixing (build the child's fresh network, shrink-perturb, load) of a full-width GanHard model, target < 2 s
(c) speed-up of 2 workers over 1 on the same search, target >= 1.7

Run: .venv/bin/python benchmarks/engine.py [--population 8 --epochs 8 --step 2]
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

    cfg = resolve_task_options(
        SearchConfig(space="bench", population=args.population, epochs=args.epochs, step=args.step, seed=0,
                     workers=workers, progress=False)
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_search(cfg, space, Path(tmp) / "run", keep_workers=True)
        total = time.perf_counter() - t0
        packed = packing_bound(Path(tmp) / "run", workers)
    ideal = summary.member_seconds / workers
    return {"workers": workers, "search_wall_s": summary.wall_seconds, "wall_with_setup_s": total,
            "member_seconds": summary.member_seconds, "overhead_ratio": summary.wall_seconds / ideal,
            "longest_first_packing_s": packed, "best_fitness": summary.best_fitness}


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--mix-repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    import ray

    load_before = os.getloadavg()[0]
    space, space_label = classify_space()  # before ray.init: workers inherit PYTHONPATH from this process
    # Ray puts the driver's script directory on its workers' sys.path; benchmarks/ holds gan.py, rl.py and this
    # engine.py, which would shadow modules of those names in the workers (the actors then never start).
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="ERROR",
             log_to_driver=False)
    one = search_once(space, 1, args)
    two = search_once(space, 2, args)
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()
    wire = wire_round_trip(3)
    ray.shutdown()
    torch.set_num_threads(2)
    mixing = mixing_ganhard(args.mix_repeats)

    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    # other work on the machine distorts (a) and (c): the 1-minute load average around the run
                    "load_average_before": load_before, "load_average_after": os.getloadavg()[0]},
        "classify_space": space_label,
        "search": {"population": args.population, "epochs": args.epochs, "step": args.step},
        "one_worker": one,
        "two_workers": two,
        "overhead_ratio_2_workers": two["overhead_ratio"],
        "speedup_2_over_1": one["search_wall_s"] / two["search_wall_s"],
        "ganhard_mixing": mixing,
        "ganhard_state_round_trip": wire,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"classify space: {space_label}; load average {load_before:.1f} before, "
          f"{results['machine']['load_average_after']:.1f} after ({os.cpu_count()} CPUs)")
    print(f"(a) engine overhead, 2 workers: {two['overhead_ratio']:.3f} (1 worker: {one['overhead_ratio']:.3f}; "
          f"target <= 1.05)")
    print(f"    2 workers: member seconds / 2 = {two['member_seconds'] / 2:.2f} s, step-synchronous "
          f"longest-first packing = {two['longest_first_packing_s']:.2f} s, search wall = {two['search_wall_s']:.2f} s")
    if "error" in mixing:
        print(f"(b) GanHard mixing: not measured ({mixing['error']})")
    else:
        print(f"(b) GanHard mixing: median {mixing['median_s']:.3f} s, max {mixing['max_s']:.3f} s "
              f"({mixing['base_parameters'] / 1e6:.1f} M parameters; target < 2 s)")
    print(f"    a GanHard member state ({wire['state_mb']:.0f} MB) through a Ray task and back: "
          f"{wire['tensors_s']:.2f} s as tensors, {wire['wire_s']:.2f} s in the wire format (numpy)")
    print(f"(c) speed-up of 2 workers over 1: {results['speedup_2_over_1']:.2f}x (target >= 1.7)")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
