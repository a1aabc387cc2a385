"""benchmarks/engine.py records every run of --repeat, and its summary is the min / median / max of those runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "engine.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("engine_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(overhead2: float, overhead1: float, speedup: float, tensors: float, wire: float) -> dict:
    return {"overhead_ratio_2_workers": overhead2, "overhead_ratio_1_worker": overhead1, "speedup_2_over_1": speedup,
            "speedup_bound_by_member_compute": 1.95,
            "ganhard_state_round_trip": {"state_mb": 303.1, "tensors_s": tensors, "wire_s": wire}}


def test_summary_keeps_every_run_in_order() -> None:
    runs = [_run(1.05, 1.02, 1.8, 1.2, 0.29), _run(1.04, 1.03, 1.9, 1.0, 0.31), _run(1.07, 1.01, 1.7, 1.1, 0.27)]
    summary = _benchmark().summarise(runs)
    assert summary["overhead_ratio_2_workers"] == {"runs": [1.05, 1.04, 1.07], "min": 1.04, "median": 1.05,
                                                   "max": 1.07}
    assert summary["speedup_2_over_1"]["runs"] == [1.8, 1.9, 1.7] and summary["speedup_2_over_1"]["median"] == 1.8
    assert summary["round_trip_wire_s"] == {"runs": [0.29, 0.31, 0.27], "min": 0.27, "median": 0.29, "max": 0.31}
    assert summary["round_trip_tensors_s"]["max"] == 1.2 and summary["overhead_ratio_1_worker"]["min"] == 1.01
    # an even number of runs: the median is the mean of the middle two
    assert _benchmark().summarise(runs[:2])["overhead_ratio_2_workers"]["median"] == pytest.approx(1.045)


def test_repeat_must_be_positive(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    module = _benchmark()
    monkeypatch.setattr(sys, "argv", ["engine.py", "--repeat", "0"])
    with pytest.raises(SystemExit) as info:
        module.main()
    assert info.value.code == 2 and "--repeat must be at least 1" in capsys.readouterr().err
