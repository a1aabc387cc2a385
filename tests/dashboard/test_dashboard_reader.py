"""The incremental reader: a refresh parses only files that changed; the state of a run from its files alone."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from pbtnas.dashboard.reader import FileCache, LogEvent, LogTail, RunReader, discover_runs, judge_state
from pbtnas.dashboard.views import population_view, run_view
from pbtnas.report.load import load_run


@pytest.mark.slow
def test_a_refresh_reads_only_the_files_that_changed(tiny_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    steps = sorted((run / "population").glob("epoch_*.json"))
    last = steps[-1]
    hidden = last.read_bytes()
    last.unlink()  # the run as it was one step earlier: progress.json pointing at the step before
    progress = json.loads((run / "progress.json").read_text())
    (run / "progress.json").write_text(json.dumps({**progress, "epoch": progress["epoch"] - 1, "complete": False}))
    cache = FileCache()
    reader = RunReader(run, cache, stale_after=3600)
    first = run_view("run", reader)
    assert cache.reads == 3 + len(steps) - 1  # config.json, run.json, progress.json and the snapshots
    reads = cache.reads
    assert run_view("run", reader)["version"] == first["version"]
    assert cache.reads == reads  # nothing changed: nothing parsed again
    last.write_bytes(hidden)  # the driver commits the next step
    (run / "progress.json").write_text(json.dumps(progress))
    second = run_view("run", reader)
    assert cache.reads == reads + 2  # the new population file and progress.json, nothing else
    assert second["version"] != first["version"]
    assert second["summary"]["steps_done"] == first["summary"]["steps_done"] + 1
    assert second["summary"]["state"] == "finished"
    expected = load_run(run)  # the report's reader, from scratch, sees the same run
    assert second["epochs"] == expected.epochs
    assert second["summary"]["best_fitness"] == expected.best_ever_fitness


@pytest.mark.slow
def test_population_table_of_a_step(tiny_run: Path) -> None:
    reader = RunReader(tiny_run, FileCache(), stale_after=3600)
    data = load_run(tiny_run)
    view = population_view(reader, None)
    assert view["epoch"] == data.epochs[-1]
    final = [e for e in data.evaluations if e.epoch == view["epoch"]]
    assert sorted(r["uid"] for r in view["rows"]) == sorted(e.uid for e in final)
    assert {r["fitness"] for r in view["rows"]} == {e.fitness for e in final}
    events = [ev for ev in data.snapshots[-1]["events"] if "child_uid" in ev]
    replaced = {r["uid"]: r["replaced_by"]["uid"] for r in view["rows"] if r["replaced_by"]}
    assert replaced == {ev["replaced_uid"]: ev["child_uid"] for ev in events}
    trained = {m["uid"]: m for m in data.snapshots[-2]["members"]}  # the population that trained to this step
    for row in view["rows"]:
        assert set(row["choices"]) == set(data.gene_names)
        assert row["params"] == trained[row["uid"]]["params"] and row["params"] > 0  # the engine's count


def test_log_tail_reads_appended_lines_once_and_waits_for_a_whole_line(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("2026-12-04 21:15:59,921 INFO search r: 2 workers, started\n2026-12-04 21:16:00,0")
    tail = LogTail(log)
    assert [e.message for e in tail.update()] == ["search r: 2 workers, started"]
    with log.open("a") as f:
        f.write("00 WARNING the worker building the child in slot 1 died\n")
    assert [e.level for e in tail.update()] == ["INFO", "WARNING"]
    log.write_text("2026-12-04 22:00:00,000 INFO search r: 2 workers, resumed\n")  # rewritten: shorter, starts over
    assert [e.message for e in tail.update()] == ["search r: 2 workers, resumed"]


@pytest.mark.parametrize(("complete", "lines", "idle", "state"), [
    (True, [], 0, "finished"),
    (False, ["search r: 2 workers, started"], 5, "running"),
    (False, ["search r: 2 workers, started", "search stopped by SIGTERM"], 5, "killed"),
    (False, ["search r: 2 workers, started", "search stopped: every member failed"], 5, "failed"),
    (False, ["search stopped by SIGINT", "search r: 2 workers, resumed"], 5, "running"),
    (False, ["search r: 2 workers, started"], 7200, "killed"),  # SIGKILL: no line, only silence
])
def test_state_from_the_files(complete: bool, lines: list[str], idle: float, state: str) -> None:
    log = [LogEvent("t", "INFO", line) for line in lines]
    assert judge_state(complete, log, time.time() - idle, stale_after=3600).state == state


def test_discovery_finds_nested_runs_and_skips_symlinks(tmp_path: Path) -> None:
    for name in ("a", "exp/cfg/seed_0", "exp/cfg/seed_1"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "config.json").write_text("{}")
        (tmp_path / name / "run.json").write_text("{}")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    (outside / "run").mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "run.json"):
        (outside / "run" / f).write_text("{}")
    os.symlink(outside, tmp_path / "link")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_runs(tmp_path)]
    assert found == ["a", "exp/cfg/seed_0", "exp/cfg/seed_1"]
    assert discover_runs(tmp_path / "a") == [tmp_path / "a"]
