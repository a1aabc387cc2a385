"""benchmarks/vs_tune.py times the algorithm it says it times: both sides train every member once per step in
synchronous generations and replace the same number of members."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "vs_tune.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("vs_tune_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Tune pickles the trainable class defined in it
    spec.loader.exec_module(module)
    return module


def test_generation_check_accepts_synchronous_steps_only() -> None:
    check = _benchmark().check_generations
    check([1, 1, 1, 2, 2, 2], population=3, steps=2, step=1)
    check([2, 2, 4, 4], population=2, steps=2, step=2)
    with pytest.raises(RuntimeError, match="synchronous generations"):
        check([1, 2, 1, 2, 1, 2], population=3, steps=2, step=1)  # members trained one after another
    with pytest.raises(RuntimeError, match="5 of 6 steps"):
        check([1, 1, 1, 2, 2], population=3, steps=2, step=1)  # a member missing


def test_both_sides_run_the_same_population(ray_session: str, tmp_path: Path) -> None:
    pytest.importorskip("ray.tune")
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()  # other tests' kept actors would hold the CPUs Tune's trials need
    bench = _benchmark()
    args = argparse.Namespace(population=4, epochs=3, step=1, parallel=2, cpus=2, train_limit=64)
    space_path, space = bench._space(tmp_path)
    tune = bench.run_tune(space, args, tmp_path)  # raises unless Tune trained synchronous generations
    engine = bench.run_engine(space_path, space, args, tmp_path)
    # every step but the last, the worst quarter of 4 (one member) takes over the best's weights
    assert tune["evaluations"] == engine["evaluations"] == 4 * 3
    assert tune["replacements"] == engine["replacements"] == 2
