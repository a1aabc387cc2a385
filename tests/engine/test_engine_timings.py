"""The timing record of a search (RUN/timings.json): phases back to back, so they sum to the wall time covered."""

from __future__ import annotations

import time

from pbtnas.engine.timings import Timings, process_age


def test_phases_sum_to_the_wall_time_they_cover() -> None:
    t0 = time.perf_counter()
    timings = Timings()
    with timings.phase("a"):
        time.sleep(0.05)
    time.sleep(0.03)  # untimed glue between two phases is kept as "other", not lost
    with timings.phase("step 1"):
        time.sleep(0.02)
    timings.lap("step 2")
    wall = time.perf_counter() - t0
    names = [p.name for p in timings.phases]
    assert names == ["a", "other", "step 1", "step 2"]
    assert abs(timings.total - wall) < 0.01
    assert timings.phases[0].seconds >= 0.05 and timings.phases[1].seconds >= 0.03
    assert timings.phases[0].cpu_seconds < 0.04  # sleeping is wall time, not the driver's CPU time
    assert set(timings.grouped()) == {"a", "other", "steps"}
    line = timings.line()
    assert line.startswith("timings: a 0.1 s, other 0.0 s, steps 0.0 s") and line.endswith(f"= {timings.total:.1f} s")
    record = timings.to_json()
    assert [p["name"] for p in record["phases"]] == names
    assert abs(record["total_seconds"] - sum(p["seconds"] for p in record["phases"])) < 1e-3


def test_imports_phase_reaches_back_to_the_process_start() -> None:
    age = process_age()
    assert age is not None and age > 0.1  # this test process imported pytest and torch first
    timings = Timings.since_process_start()
    assert timings.phases[0].name == "imports" and timings.phases[0].seconds >= age
