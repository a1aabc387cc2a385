"""A search driver run as a subprocess joining a Ray cluster by address (as `pbtnas search --address HOST:PORT`
does); prints the run's summary and the cluster's node ids as JSON.

    python cluster_driver.py ADDRESS RUN_DIR CONFIG_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import ray
import torch
from engine_double import DoubleSpace

from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig


def main() -> None:
    address, run_dir, cfg_json = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    cfg = resolve_task_options(SearchConfig.model_validate({**json.loads(cfg_json), "address": address}))
    summary = run_search(cfg, DoubleSpace(n_layers=2, width=64), run_dir)
    print(json.dumps({
        "driver_node": ray.get_runtime_context().get_node_id(),
        "nodes": {n["NodeID"]: n["Alive"] for n in ray.nodes()},
        "workers": summary.workers,
        "restarts": summary.restarts,
        "failures": summary.failures,
        "best": summary.best_fitness,
    }))


if __name__ == "__main__":
    main()
