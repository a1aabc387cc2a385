"""BOHB (paper Appendix B) through Ray Tune's ``TuneBOHB`` searcher and ``HyperBandForBOHB`` scheduler, driving
the same Task protocol as the engine (``new_member``, ``train``, ``evaluate``).

As the authors' code: one Tune iteration = one e_step of training followed by an evaluation; ``max_t`` = the
number of steps of a full budget; at most ``max_concurrent`` trials at once; ``num_samples`` sampled architectures
(the reference used 98 for a budget of 24 networks on CIFAR-10 and 49 for 12 on Quadruped, i.e. about 4.1 per
network of budget, which is the default here). Every gene of the space is one categorical hyperparameter.

The result is written as a run directory the report reads (``config.json`` with ``algorithm = "bohb"``,
``population/epoch_EEEE.json`` with every trial's evaluations at that epoch, ``progress.json``), so
``pbtnas report`` compares BOHB with the engine's algorithms. BOHB keeps no weights across trials, so the files hold
no checkpoints and each trial's lineage is itself.

    python -m pbtnas.baselines.bohb configs/tiny/bohb/digits_bohb.toml --seed 0 --out runs/bohb-digits

Needs ``pip install -e .[tune]`` (ray[tune], hpbandster, ConfigSpace: TuneBOHB's own requirements).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BohbConfig", "load_bohb_config", "run_bohb"]


class BohbConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    space: str
    overrides: dict[str, str] = Field(default_factory=dict)
    task: str = "classify"
    task_options: dict[str, Any] = Field(default_factory=dict)
    epochs: int = Field(ge=1, description="full budget of one network")
    step: int = Field(ge=1, description="epochs per Tune iteration")
    budget_members: int = Field(ge=1, description="the compute of fully training this many networks")
    num_samples: int | None = Field(None, ge=1, description="default: round(4.1 x budget_members), as the reference")
    max_concurrent: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    cpus_per_member: float = Field(1.0, gt=0)
    gpus_per_member: float = Field(0.0, ge=0)
    address: str | None = Field(None, description="join this Ray cluster; default: a local Ray on loopback")
    ray_bind: Literal["loopback", "all"] = "loopback"

    @property
    def samples(self) -> int:
        return self.num_samples or max(1, round(self.budget_members * 98 / 24))


def load_bohb_config(path: Path, **overrides: Any) -> BohbConfig:
    import tomllib

    with open(path, "rb") as f:
        values = tomllib.load(f)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return BohbConfig.model_validate(values)


def run_bohb(cfg: BohbConfig, out: Path) -> dict[str, Any]:
    """Run BOHB and write ``out`` as a report-readable run directory. Starts a local Ray unless one is running."""
    import ray
    import torch
    from ray import tune
    from ray.tune.schedulers import HyperBandForBOHB
    from ray.tune.search.bohb import TuneBOHB

    from pbtnas.engine.commands import compile_space_for, resolve_task_options
    from pbtnas.engine.config import validate_config

    search_cfg = resolve_task_options(validate_config({
        "space": cfg.space, "overrides": cfg.overrides, "task": cfg.task, "task_options": cfg.task_options,
        "epochs": cfg.epochs, "step": cfg.step, "seed": cfg.seed,
    }))
    space = compile_space_for(search_cfg)
    space_json, task_name, task_options = space.to_json(), cfg.task, dict(search_cfg.task_options)
    loader = f"{type(space).__module__}:{type(space).__qualname__}"
    step, max_t = cfg.step, math.ceil(cfg.epochs / cfg.step)
    genes = [g.name for g in space.genes]

    class TaskTrainable(tune.Trainable):
        def setup(self, config: dict[str, Any]) -> None:
            import importlib

            from pbtnas.tasks.registry import get_task

            torch.set_num_threads(max(1, int(cfg.cpus_per_member)))
            module, _, cls = loader.partition(":")
            sp = getattr(importlib.import_module(module), cls).from_json(space_json)
            task_cls = get_task(task_name)
            self.task = task_cls(sp, task_cls.Options.model_validate(task_options), None)
            self.genome = sp.validate([int(config[f"g{i}"]) for i in range(len(sp.genes))])
            self.member_seed = int(config["member_seed"])
            self.state = self.task.new_member(self.genome, self.member_seed)
            self.epoch = 0

        def step(self) -> dict[str, Any]:
            end = min(self.epoch + step, cfg.epochs)
            self.state, metrics = self.task.train(self.state, self.genome, self.epoch, end, self.member_seed + end)
            self.epoch = end
            fitness = float(self.task.evaluate(self.state, self.genome, cfg.seed))
            return {"fitness": fitness if math.isfinite(fitness) else -1e30, "epoch": end, **metrics}

        # HyperBand pauses trials between rungs: Tune saves and restores them through these
        def save_checkpoint(self, checkpoint_dir: str) -> None:
            torch.save({"state": self.state, "epoch": self.epoch}, Path(checkpoint_dir) / "member.pt")

        def load_checkpoint(self, checkpoint_dir: str) -> None:
            saved = torch.load(Path(checkpoint_dir) / "member.pt", map_location="cpu", weights_only=True)
            self.state, self.epoch = saved["state"], int(saved["epoch"])

    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=cfg.seed)
    for i, g in enumerate(space.genes):
        cs.add(CS.CategoricalHyperparameter(f"g{i}", list(range(len(g.options)))))
    cs.add(CS.UniformIntegerHyperparameter("member_seed", 0, 2**30))
    searcher = TuneBOHB(space=cs, metric="fitness", mode="max", seed=cfg.seed)
    scheduler = HyperBandForBOHB(time_attr="training_iteration", max_t=max_t, reduction_factor=3,
                                 metric="fitness", mode="max")
    from pbtnas.engine.execution import ensure_ray

    ensure_ray(cfg.address, cfg.ray_bind)  # the engine's local Ray (loopback only) or the cluster named
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(TaskTrainable, {"cpu": cfg.cpus_per_member, "gpu": cfg.gpus_per_member}),
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=cfg.samples,
                                    max_concurrent_trials=cfg.max_concurrent),
        run_config=tune.RunConfig(storage_path=str((out / "tune").resolve()), name="bohb",
                                  stop={"training_iteration": max_t}, verbose=0),
    )
    results = tuner.fit()
    wall = time.perf_counter() - t0
    errors = [r.error for r in results if r.error]
    if errors and len(errors) == len(results):
        raise RuntimeError(f"every BOHB trial failed; the first: {errors[0]!r}")
    _write_run(out, cfg, space, genes, results, wall)
    return {"out": str(out), "trials": len(results), "wall_seconds": wall}


def _write_run(out: Path, cfg: BohbConfig, space: Any, genes: list[str], results: Any, wall: float) -> None:
    from pbtnas.engine.rundir import atomic_write_json

    by_epoch: dict[int, list[dict[str, Any]]] = {}
    members: dict[int, dict[str, Any]] = {}
    spent = 0
    for uid, r in enumerate(results):
        df = r.metrics_dataframe
        if df is None or "fitness" not in df:
            continue
        values = [int(r.config[f"g{i}"]) for i in range(len(genes))]
        members[uid] = {"slot": uid, "uid": uid, "genome": values, "lineage": [[uid] for _ in values],
                        "fitness": [], "status": "ok", "born_epoch": 0, "origin": {"kind": "bohb"}, "error": None,
                        "choices": space.to_json_genome(space.validate(values))["choices"]}
        for _, row in df.iterrows():
            epoch = int(row["epoch"])
            members[uid]["fitness"].append([epoch, float(row["fitness"])])
            by_epoch.setdefault(epoch, []).append({"slot": uid, "uid": uid, "fitness": float(row["fitness"]),
                                                   "status": "ok", "metrics": {}})
        spent += int(df["epoch"].max())
    epochs = sorted(by_epoch)
    snapshots = [{"epoch": 0, "members": list(members.values()), "evaluated": [], "events": [], "wall_seconds": 0.0}]
    for e in epochs:
        # the population file at epoch e holds the trials that reached e (as the engine's holds its members)
        alive = [members[ev["uid"]] for ev in by_epoch[e]]
        snapshots.append({"epoch": e, "members": alive, "evaluated": by_epoch[e], "events": [],
                          "wall_seconds": wall / max(1, len(epochs))})
    for s in snapshots:
        atomic_write_json(out / "population" / f"epoch_{s['epoch']:04d}.json", s)
    atomic_write_json(out / "config.json", {**cfg.model_dump(), "algorithm": "bohb", "population": cfg.budget_members})
    atomic_write_json(out / "run.json", {"format": 1, "space": space.name, "schema_hash": space.schema_hash,
                                         "algorithm": "bohb", "created": datetime.now().isoformat(timespec="seconds")})
    atomic_write_json(out / "progress.json", {"epoch": epochs[-1] if epochs else 0, "complete": True,
                                              "epochs_trained": spent, "budget_epochs": cfg.budget_members * cfg.epochs,
                                              "trials": len(members), "wall_seconds": wall})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="BOHB (paper Appendix B) on a pbtnas space and task, via Ray Tune")
    ap.add_argument("config", type=Path)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--num-samples", type=int, default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    cfg = load_bohb_config(args.config, seed=args.seed, num_samples=args.num_samples)
    print(json.dumps(run_bohb(cfg, args.out)))


if __name__ == "__main__":
    main()
