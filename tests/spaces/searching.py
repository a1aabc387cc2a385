"""A two-step PBT-NAS search of a space file on the classify task, in the test process.

The same path as `pbtnas search` (config validation, the task's overrides, compile, run) without a subprocess, and
with the session's kept workers: a fresh process and two fresh actors would cost about 20 s per space on 2 cores.
The command line itself is covered by tests/engine/test_engine_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

import pbtnas
from pbtnas.engine.commands import compile_space_for, resolve_task_options, run_search
from pbtnas.engine.config import validate_config


def two_step_search(space_file: Path, sets: dict[str, str], run: Path, ray_address: str) -> tuple[Any, Any]:
    """Search ``space_file`` (population 4, 2 epochs, a step each) and return the loaded best network and genome."""
    values = {"space": str(space_file), "task": "classify", "overrides": sets, "population": 4, "epochs": 2,
              "step": 1, "seed": 0, "address": ray_address, "progress": False, "workers": 2}
    cfg = resolve_task_options(validate_config(values, "options"))
    summary = run_search(cfg, compile_space_for(cfg), run, keep_workers=True)
    assert summary.best_fitness is not None
    module, genome = pbtnas.load(run)
    fitness = json.loads((run / "best" / "info.json").read_text())["fitness"]
    assert 0.0 <= fitness <= 1.0
    return module, genome


def classifies_8x8_digits(module: Any) -> bool:
    return module.classifier(torch.randn(3, 1, 8, 8)).shape == (3, 10)
