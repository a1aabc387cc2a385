"""A search started exactly as ``pbtnas search`` starts one (``run_search`` -> ``ensure_ray``, a new local Ray),
which, while its members train, lists every TCP socket its process tree listens on and prints them as JSON.

Run as a subprocess by test_cluster.py so that the test session's own Ray is not disturbed:
    python loopback_driver.py RUN_DIR loopback|all
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from engine_double import DoubleSpace
from listening import descendants, listeners_of

from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.driver import NullProgress


class SampleListeners(NullProgress):
    """Takes the sample at the first finished member: Ray, its workers and the driver's own server are up."""

    def __init__(self) -> None:
        self.sample: list[dict[str, Any]] | None = None

    def member_done(self, step: Any, fitness: float | None) -> None:
        if self.sample is None:
            import ray

            self.sample = [vars(x) | {"loopback": x.loopback} for x in listeners_of(descendants(os.getpid()))]
            self.node_ip = ray.util.get_node_ip_address()


def main() -> None:
    run_dir, bind = Path(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    cfg = resolve_task_options(SearchConfig.model_validate({
        "space": "double", "population": 2, "epochs": 2, "step": 1, "workers": 2, "progress": False,
        "tensorboard": False, "ray_bind": bind, "task_options": {"train_limit": 64},
    }))
    sink = SampleListeners()
    summary = run_search(cfg, DoubleSpace(n_layers=2, width=8), run_dir, progress=sink)
    print(json.dumps({"node_ip": sink.node_ip, "listeners": sink.sample, "best": summary.best_fitness}))


if __name__ == "__main__":
    main()
