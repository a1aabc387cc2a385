"""This engine against Ray Tune's PopulationBasedTraining, on the same population, in one run.

The same trainable on both sides: the classify task (scikit-learn's 8x8 digits) with one fixed architecture (a
space whose only gene has one option), N members, ``--epochs`` epochs in steps of ``--step`` epochs, the same
exploit rule (every step but the last, the worst quarter take over the weights of the best quarter):

* this engine: ``--algorithm pbtnas --mix-with-self --shrink-perturb 1,0`` (a child is an exact copy of a parent;
  the genome never changes);
* Ray Tune: ``PopulationBasedTraining(synch=True, quantile_fraction=0.25, perturbation_interval=1)`` over a class
  Trainable whose one iteration trains ``--step`` epochs and evaluates; Tune perturbs a hyperparameter the trainable
  ignores (``dummy``).

Each side runs on a local Ray of its own, started the same way (``--cpus`` CPUs), one CPU and one torch thread per
member, 2 members in parallel by default; ``--repeats`` runs of each side, alternating which goes first (a side
sharing a Ray with the other inherited its worker processes or waited for its actors to go). The default shape is
the paper's: N = 24 and 30 selection steps (300 epochs in steps of 10 there; 30 epochs in steps of 1 epoch here).
Both sides' wall times include starting their actors. Printed per run and as medians: wall times and their ratio
(target: this engine <= 0.5x Tune), and the per-step overhead (wall - member compute / parallelism) / steps, the
member compute being the train + evaluation seconds measured inside the members. JSON (every run and the medians)
goes to benchmarks/results/vs_tune.json.

    python benchmarks/vs_tune.py                                  # N 24, 30 steps, 3 runs (about 7 minutes idle)
    python benchmarks/vs_tune.py --population 8 --epochs 12       # a short run: start-up is most of it

Needs ``ray[tune]`` (``pip install -e .[tune]``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

FIXED_SPACE = """\
space fixed_digits
const width = 16
const classes = 10
network classifier(x: [1, 8, 8]) -> [classes] {
  param act: [relu]
  stem = x >> conv(width, k=3, pad=1) >> batchnorm >> relu
  h1 = stem >> conv(width, k=3, pad=1) >> batchnorm >> relu >> max_pool(2)
  h2 = h1 >> conv(width, k=3, pad=1) >> batchnorm >> relu
  return h2 >> global_avg_pool >> linear(classes)
}
"""

RESULTS = Path(__file__).resolve().parent / "results" / "vs_tune.json"


def _space(folder: Path) -> Any:
    from pbtnas.compiler import compile_space

    path = folder / "fixed_digits.nas"
    path.write_text(FIXED_SPACE)
    return path, compile_space(str(path))


def run_engine(space_path: Path, space: Any, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from pbtnas.engine.commands import resolve_task_options, run_search
    from pbtnas.engine.config import validate_config

    cfg = resolve_task_options(validate_config({
        "space": str(space_path), "task": "classify", "task_options": {"train_limit": args.train_limit},
        "algorithm": "pbtnas", "mix_with_self": True, "shrink_perturb": "1,0", "population": args.population,
        "epochs": args.epochs, "step": args.step, "seed": 0, "workers": args.parallel, "progress": False,
    }))
    t0 = time.perf_counter()
    summary = run_search(cfg, space, folder / "engine_run")
    wall = time.perf_counter() - t0
    snapshots = sorted((folder / "engine_run" / "population").glob("epoch_*.json"))
    evaluated = [e for p in snapshots for e in json.loads(p.read_text())["evaluated"]]
    compute = sum(float(e["train_seconds"]) + float(e["eval_seconds"]) for e in evaluated)
    return {"wall_seconds": wall, "search_loop_seconds": summary.wall_seconds,
            "startup_seconds": wall - summary.wall_seconds, "member_compute_seconds": compute,
            "best_fitness": summary.best_fitness,
            "evaluations": len(evaluated), "replacements": sum(
                len([ev for ev in json.loads(p.read_text())["events"] if "child_uid" in ev]) for p in snapshots)}


def run_tune(space: Any, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    from pbtnas.tasks.classify.task import ClassifyOptions, ClassifyTask

    space_json = space.to_json()
    step, train_limit = args.step, args.train_limit
    ledger = str(folder / "tune_ledger.jsonl")

    class MemberTrainable(tune.Trainable):
        """One member: the classify task's state, trained ``step`` epochs per iteration, then evaluated."""

        def setup(self, config: dict[str, Any]) -> None:
            from pbtnas.compiler import CompiledSpace

            torch.set_num_threads(1)
            sp = CompiledSpace.from_json(space_json)
            self.task = ClassifyTask(sp, ClassifyOptions(train_limit=train_limit, data_seed=0), None)
            self.genome = sp.validate([0])
            self.state = self.task.new_member(self.genome, seed=int(config["member_seed"]))
            self.epoch = 0

        def step(self) -> dict[str, Any]:
            t0 = time.perf_counter()
            self.state, metrics = self.task.train(self.state, self.genome, self.epoch, self.epoch + step,
                                                  seed=1000 * self.epoch + int(self.config["member_seed"]))
            self.epoch += step
            fitness = self.task.evaluate(self.state, self.genome, seed=0)
            seconds = time.perf_counter() - t0
            with open(ledger, "a") as f:  # one line per member-step, whatever Tune keeps in its result frames
                f.write(json.dumps({"epoch": self.epoch, "fitness": fitness, "seconds": seconds,
                                    "pid": os.getpid()}) + "\n")
            return {"fitness": fitness, "compute_seconds": seconds, **metrics}

        def save_checkpoint(self, checkpoint_dir: str) -> None:
            torch.save({"state": self.state, "epoch": self.epoch}, os.path.join(checkpoint_dir, "member.pt"))

        def load_checkpoint(self, checkpoint_dir: str) -> None:
            saved = torch.load(os.path.join(checkpoint_dir, "member.pt"), weights_only=True)
            self.state, self.epoch = saved["state"], int(saved["epoch"])

        def reset_config(self, new_config: dict[str, Any]) -> bool:
            # a reused actor starts a new member (PBT's exploit then restores a checkpoint over it)
            self.config = new_config
            self.state = self.task.new_member(self.genome, seed=int(new_config["member_seed"]))
            self.epoch = 0
            return True

    t0 = time.perf_counter()  # the Tuner is built inside the timer, as run_search builds its pool inside it
    steps = args.epochs // args.step
    pbt = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=1,
        quantile_fraction=0.25,
        hyperparam_mutations={"dummy": [0, 1, 2, 3]},
        synch=True,
    )
    tuner = tune.Tuner(
        # Tune runs as many trials at once as their resources allow; PBT pauses and resumes the others
        # (choose_trial_to_run). Not max_concurrent_trials: that limits how many trials *exist* at a time, so the
        # population would be split into groups of that size, each trained to the end before the next is created.
        tune.with_resources(MemberTrainable, {"cpu": args.cpus / args.parallel}),
        param_space={"dummy": 0, "member_seed": tune.grid_search(list(range(args.population)))},
        tune_config=tune.TuneConfig(scheduler=pbt, metric="fitness", mode="max", num_samples=1,
                                    reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(folder / "tune"), name="pbt", stop={"training_iteration": steps},
                                  verbose=0),
    )
    results = tuner.fit()
    wall = time.perf_counter() - t0
    errors = [r.error for r in results if r.error]
    if errors:
        raise RuntimeError(f"{len(errors)} Tune trial(s) failed; the first: {errors[0]!r}")
    rows = [json.loads(line) for line in Path(ledger).read_text().splitlines()]
    check_generations([r["epoch"] for r in rows], args.population, steps, args.step)
    compute = float(sum(r["seconds"] for r in rows))
    final = [r["fitness"] for r in rows if r["epoch"] == args.epochs]
    return {"wall_seconds": wall, "member_compute_seconds": compute, "best_fitness": max(final, default=float("nan")),
            "evaluations": len(rows), "errors": 0, "actor_processes": len({r["pid"] for r in rows}),
            # the scheduler's own count (an attribute Tune's tests read); the engine's "replacements" counterpart
            "replacements": getattr(pbt, "_num_perturbations", None)}


def check_generations(epochs_in_order: list[int], population: int, steps: int, step: int) -> None:
    """Raise unless the members trained in synchronous generations: every member's step k ended before any member's
    step k + 1 did, each member once per step. Without this, a Tune setting that trains the population in groups
    (as ``max_concurrent_trials`` does) would be timed as if it were the same algorithm."""
    expected = [step * (k + 1) for k in range(steps) for _ in range(population)]
    if epochs_in_order != expected:
        first = next((i for i, (a, b) in enumerate(zip(epochs_in_order, expected)) if a != b),
                     min(len(epochs_in_order), len(expected)))
        raise RuntimeError(
            f"Tune did not train {population} members in {steps} synchronous generations: finished step number "
            f"{first} was epoch {epochs_in_order[first] if first < len(epochs_in_order) else None}, expected "
            f"{expected[first] if first < len(expected) else None} ({len(epochs_in_order)} of {len(expected)} steps)")


def run_side(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One side in a Ray of its own: the same ``ray.init`` for both, so neither inherits the other's worker
    processes (Ray prestarts one per CPU at ``ray.init``; the side that ran second on a shared Ray started its
    actors about 3 s later) nor its leftover actors."""
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        space_path, space = _space(folder)
        ray.init(num_cpus=args.cpus, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="ERROR",
                 log_to_driver=False)
        try:
            if name == "engine":
                return run_engine(space_path, space, args, folder)
            return run_tune(space, args, folder)
        finally:
            ray.shutdown()


def main() -> None:
    from _machine import cpu_model  # benchmarks/ is sys.path[0] when this file runs

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=24, help="the paper's N for GANs (24)")
    ap.add_argument("--epochs", type=int, default=30, help="with --step 1: the paper's 30 selection steps")
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=2, help="members trained at once (workers / Tune trials)")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each side; the order alternates")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    import ray

    torch.set_num_threads(1)
    steps = args.epochs // args.step
    repeats: list[dict[str, Any]] = []
    for r in range(args.repeats):
        order = ["engine", "tune"] if r % 2 == 0 else ["tune", "engine"]
        res = {name: run_side(name, args) for name in order}
        for side in res.values():
            side["overhead_per_step"] = (side["wall_seconds"] - side["member_compute_seconds"] / args.parallel) / steps
        e, t = res["engine"], res["tune"]
        repeats.append({"order": order, "engine": e, "tune": t,
                        "wall_ratio_engine_over_tune": e["wall_seconds"] / t["wall_seconds"],
                        "overhead_ratio_engine_over_tune": e["overhead_per_step"] / t["overhead_per_step"]})
        print(f"run {r + 1}/{args.repeats} ({order[0]} first): engine {e['wall_seconds']:.2f} s "
              f"({e['startup_seconds']:.2f} s starting actors and the initial population), "
              f"tune {t['wall_seconds']:.2f} s, ratio {repeats[-1]['wall_ratio_engine_over_tune']:.3f}; "
              f"replacements {e['replacements']} / {t['replacements']}", flush=True)

    common = ("wall_seconds", "member_compute_seconds", "overhead_per_step", "best_fitness")
    summary_keys = {"engine": (*common, "startup_seconds", "search_loop_seconds"), "tune": (*common, "actor_processes")}
    summary = {side: {key: statistics.median(float(rep[side][key]) for rep in repeats) for key in keys}
               for side, keys in summary_keys.items()}
    out = {
        "population": args.population, "epochs": args.epochs, "step": args.step, "steps": steps,
        "parallel": args.parallel, "cpus": args.cpus, "train_limit": args.train_limit, "repeats": repeats,
        "median": summary,
        "wall_ratio_engine_over_tune": statistics.median(rep["wall_ratio_engine_over_tune"] for rep in repeats),
        "overhead_ratio_engine_over_tune": statistics.median(rep["overhead_ratio_engine_over_tune"] for rep in repeats),
        "machine": {"cpu": cpu_model(), "cpus_visible": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "torch": torch.__version__, "ray": ray.__version__,
                    "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None},
    }
    print(f"population {args.population}, {args.epochs} epochs in {steps} steps of {args.step}, "
          f"{args.parallel} members at once on {args.cpus} CPUs; medians of {args.repeats} runs, each side on a "
          "fresh Ray, alternating which side goes first")
    for name, r in (("pbtnas engine", summary["engine"]), ("ray.tune PBT", summary["tune"])):
        print(f"  {name:14s} wall {r['wall_seconds']:7.2f} s   member compute {r['member_compute_seconds']:6.2f} s   "
              f"overhead/step {r['overhead_per_step']:6.3f} s   best fitness {r['best_fitness']:.4f}")
    print(f"  pbtnas engine: {summary['engine']['startup_seconds']:.2f} s starting its actors and the initial "
          f"population, {summary['engine']['search_loop_seconds']:.2f} s searching (its {args.parallel} actors live "
          f"throughout); ray.tune: members trained in {summary['tune']['actor_processes']:.0f} actor processes")
    ratios = ", ".join(f"{rep['wall_ratio_engine_over_tune']:.3f}" for rep in repeats)
    print(f"  wall ratio engine/tune: median {out['wall_ratio_engine_over_tune']:.3f} (runs: {ratios}; target <= 0.5); "
          f"overhead ratio {out['overhead_ratio_engine_over_tune']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
