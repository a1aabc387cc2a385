"""Where the workers' time went in a run, from the per-job stamps of its population files: training and
evaluation (the members' compute), serialisation in the worker (the wire format, both ways), Ray between jobs (a job
handed over but not started on an idle worker: Ray storing the previous result, fetching the arguments, starting
the call), waiting for work (the worker idle and no job handed to it: selection, checkpoints, the step barrier) and
the idle tail after a worker's last job.

Per worker the parts add up to the window (the first job handed to Ray to the last result seen by the driver), so
``workers x window = compute + every overhead``: the engine's overhead over the ideal, split by cause.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Breakdown", "breakdown", "breakdown_of_run"]


@dataclass(frozen=True)
class Breakdown:
    workers: int
    window_s: float
    compute_s: float  # train + eval
    wire_s: float  # the state from and to the wire format, in the worker
    other_in_worker_s: float  # the rest of a job on the worker (building the network, per-step outputs)
    ray_between_jobs_s: float  # handed to Ray, worker idle, job not started yet
    waiting_for_work_s: float  # worker idle, no job handed to it
    tail_s: float  # after a worker's last job, until the window ends

    @property
    def overhead_ratio(self) -> float:
        """workers x window / compute: 1.0 is the ideal."""
        return self.workers * self.window_s / self.compute_s if self.compute_s else float("nan")

    def shares(self) -> dict[str, float]:
        """Each overhead as a fraction of the compute (they sum to overhead_ratio - 1)."""
        c = self.compute_s or float("nan")
        return {"wire": self.wire_s / c, "other_in_worker": self.other_in_worker_s / c, "ray_between_jobs": self.ray_between_jobs_s / c,
                "waiting_for_work": self.waiting_for_work_s / c, "tail": self.tail_s / c}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overhead_ratio": self.overhead_ratio, "shares": self.shares()}


def breakdown(jobs: list[dict[str, Any]]) -> Breakdown:
    """``jobs``: evaluated entries with ``timeline`` [submitted, started, ended, observed], ``worker``,
    ``train_seconds``, ``eval_seconds`` and ``wire_seconds``; entries without stamps (failed, older runs) are left
    out."""
    stamped = [j for j in jobs if j.get("timeline") and None not in j["timeline"] and j.get("worker") is not None]
    if not stamped:
        raise ValueError("no job carries timing stamps (a run written before they were recorded?)")
    start = min(j["timeline"][0] for j in stamped)
    end = max(j["timeline"][3] for j in stamped)
    per_worker: dict[Any, list[dict[str, Any]]] = {}
    for j in stamped:
        per_worker.setdefault(j["worker"], []).append(j)
    compute = wire = other = ray_between = waiting = tail = 0.0
    for worker_jobs in per_worker.values():
        free = start  # when the worker became free
        for j in sorted(worker_jobs, key=lambda j: j["timeline"][1]):
            submitted, started, ended, _observed = j["timeline"]
            job_compute = float(j.get("train_seconds") or 0.0) + float(j.get("eval_seconds") or 0.0)
            job_wire = float(j.get("wire_seconds") or 0.0)
            compute += job_compute
            wire += job_wire
            other += max(0.0, (ended - started) - job_compute - job_wire)
            waiting += max(0.0, min(submitted, started) - free)
            ray_between += max(0.0, started - max(submitted, free))
            free = max(free, ended)
        tail += max(0.0, end - free)
    return Breakdown(len(per_worker), end - start, compute, wire, other, ray_between, waiting, tail)


def breakdown_of_run(run_dir: Path | str) -> Breakdown:
    """The breakdown over every step of a run directory (its population files)."""
    jobs = []
    for path in sorted(Path(run_dir, "population").glob("epoch_*.json")):
        jobs.extend(json.loads(path.read_text()).get("evaluated", []))
    return breakdown(jobs)
