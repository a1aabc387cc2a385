"""The pipelined step: the next step is on the workers before the driver writes the finished one; survivors start
it before the step's barrier (with the same result); a child whose worker died before the driver fetched it is
rebuilt (deterministically) instead of stopping the run."""

from __future__ import annotations

import json
import math
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from engine_double import DoubleSpace
from ray.exceptions import ActorDiedError

from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.driver import Driver, StepJobs
from pbtnas.engine.execution import TrainBatch, TrainOutcome
from pbtnas.engine.population import Member
from pbtnas.engine.rundir import RunDir
from pbtnas.engine.selection import select

SPACE = DoubleSpace(n_layers=3, width=16)


def config(**kw: Any) -> SearchConfig:
    base: dict[str, Any] = {"space": "double", "population": 4, "epochs": 6, "step": 2, "seed": 5, "workers": 2,
                            "progress": False, "task_options": {"train_limit": 120, "lr": 0.01}}
    base.update(kw)
    return resolve_task_options(SearchConfig.model_validate(base))


def _trace(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str, tuple[int, ...]]]:
    """(what, epoch, thread, slots): each batch of training jobs added, and each checkpoint written."""
    trace: list[tuple[str, int, str, tuple[int, ...]]] = []
    add, save = TrainBatch.add, RunDir.write_checkpoint

    def traced_add(self: TrainBatch, jobs: list[Any]) -> None:
        if jobs:
            trace.append(("train", jobs[0].start, threading.current_thread().name, tuple(j.slot for j in jobs)))
        add(self, jobs)

    def traced_save(self: RunDir, staging: Path, slot: int, state: Any) -> Any:
        trace.append(("save", int(staging.name.split("_")[1].split(".")[0]), threading.current_thread().name, (slot,)))
        return save(self, staging, slot, state)

    monkeypatch.setattr(TrainBatch, "add", traced_add)
    monkeypatch.setattr(RunDir, "write_checkpoint", traced_save)
    return trace


def test_the_next_step_is_submitted_before_the_finished_step_is_written(
    ray_session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = _trace(monkeypatch)
    run_search(config(overlap_steps=False), SPACE, tmp_path / "run", keep_workers=True)
    phases = [(what, epoch) for what, epoch, *_ in trace]
    order = [event for i, event in enumerate(phases) if i == 0 or phases[i - 1] != event]  # one entry per phase
    # initial checkpoints, then: step 0-2 trains; step 2-4 is submitted before epoch 2 is written, and so on
    assert order == [("save", 0), ("train", 0), ("train", 2), ("save", 2), ("train", 4), ("save", 4), ("save", 6)]
    assert all(thread == "MainThread" for what, _, thread, _ in trace if what == "train")


def test_survivors_start_their_next_step_before_the_barrier_with_the_same_result(
    ray_session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = _trace(monkeypatch)
    run_search(config(), SPACE, tmp_path / "overlap", keep_workers=True)
    early = [(epoch, slots) for what, epoch, thread, slots in trace if what == "train" and thread == "pbtnas-dispatch"]
    # N = 4 replaces 1: the better of a step's first two finishers is already sure to survive
    assert {epoch for epoch, _ in early} == {2, 4}
    for epoch in (2, 4):
        first_barrier_add = next(i for i, (what, e, thread, _) in enumerate(trace)
                                 if what == "train" and e == epoch and thread == "MainThread")
        first_early = next(i for i, (what, e, thread, _) in enumerate(trace)
                           if what == "train" and e == epoch and thread == "pbtnas-dispatch")
        assert first_early < first_barrier_add
        started = {slot for e, slots in early if e == epoch for slot in slots}
        replaced = {ev["slot"] for ev in _population(tmp_path / "overlap", epoch)["events"]}
        assert started and not started & replaced
    run_search(config(overlap_steps=False), SPACE, tmp_path / "barrier", keep_workers=True)
    for epoch in (0, 2, 4, 6):
        with_overlap, synchronous = _population(tmp_path / "overlap", epoch), _population(tmp_path / "barrier", epoch)
        assert with_overlap["members"] == synchronous["members"]
        assert [e["fitness"] for e in with_overlap["evaluated"]] == [e["fitness"] for e in synchronous["evaluated"]]
        assert with_overlap["events"] == synchronous["events"]


def _population(run: Path, epoch: int) -> dict[str, Any]:
    return json.loads((run / "population" / f"epoch_{epoch:04d}.json").read_text())


class _Batch:
    def __init__(self) -> None:
        self.jobs: list[Any] = []

    def add(self, jobs: list[Any]) -> None:
        self.jobs.extend(jobs)


@pytest.mark.parametrize("algorithm", ["pbtnas", "mutation", "random"])
def test_only_members_sure_to_survive_start_early(algorithm: str) -> None:
    """Against ``select`` itself, for population sizes, tied and failed fitness and every finishing order: a member
    started early is never one the selection replaces, and once all have finished, every survivor has started."""
    rng = random.Random(7)
    for trial in range(400):
        n = rng.choice([2, 3, 4, 6, 8, 12, 24])
        cfg = SearchConfig(space="x", population=n, epochs=4, step=2, algorithm=algorithm)
        driver = Driver.__new__(Driver)
        driver.cfg, driver.steps, driver.overlap, driver._jobs = cfg, cfg.steps(), True, {}
        driver._open = lambda step: driver._jobs.setdefault(step.index, StepJobs(step, _Batch()))  # type: ignore
        members = [Member(slot=i, uid=i, genome=(0,), lineage=[[i]]) for i in range(n)]
        jobs = StepJobs(driver.steps[0], _Batch(), members={m.slot: m for m in members}, closed=True)
        reports = {m.slot: ({"failed": True, "fitness": float("nan")} if rng.random() < 0.15 else
                            {"fitness": rng.choice([0.1, 0.2, 0.2, 0.5, 0.9]), "train_seconds": 1.0})
                   for m in members}
        for slot in rng.sample(range(n), n):
            jobs.finished[slot] = TrainOutcome(slot, f"state-{slot}", reports[slot])
            driver._start_survivors(jobs)
        for m in members:
            report = reports[m.slot]
            m.fitness.append((2, -math.inf if report.get("failed") else report["fitness"]))
            m.status = "failed" if report.get("failed") else "ok"
        started = [job.slot for job in driver._jobs[1].batch.jobs] if 1 in driver._jobs else []
        assert len(started) == len(set(started))
        if algorithm == "random":
            assert set(started) == {m.slot for m in members if m.status == "ok"}
            continue
        if all(m.status == "failed" for m in members):
            assert not started
            continue
        replaced = set(select(members, cfg.tau).replaced)
        assert set(started) == set(range(n)) - replaced, (trial, n, reports)
        nxt = driver._jobs[1].batch.jobs
        assert all(job.state == f"state-{job.slot}" and job.start == 2 and job.end == 4 for job in nxt)


def test_no_overlap_where_variation_or_the_task_changes_survivors(ray_session: str) -> None:
    from pbtnas.tasks.rl.task import RLTask

    assert RLTask.self_contained is False  # replay stores outside the member state
    for kw, expected in [({}, True), ({"algorithm": "random"}, True), ({"overlap_steps": False}, False),
                         ({"algorithm": "random", "shrink_perturb": "0.4,0.1"}, False)]:
        cfg = SearchConfig(space="x", **kw)
        driver = Driver.__new__(Driver)
        Driver.__init__(driver, cfg, SPACE, None, None, None)  # type: ignore[arg-type]
        assert driver.overlap is expected, kw
    cfg = SearchConfig(space="x", task="rl")
    assert Driver(cfg, SPACE, None, None, None).overlap is False  # type: ignore[arg-type]


class _FlakyPool:
    """A pool whose first fetch of slot 1's child fails as if its worker had died."""

    def __init__(self) -> None:
        self.fetches = 0
        self.redone: list[tuple[str, tuple[Any, ...]]] = []

    def fetch(self, ref: Any) -> Any:
        self.fetches += 1
        if ref == "child-ref":
            raise ActorDiedError()
        return {"state": ref}

    def run_calls(self, method: str, calls: list[tuple[Any, ...]], consume: Any = None) -> list[Any]:
        self.redone.extend((method, args) for args in calls)
        return ["rebuilt-ref"]


def test_a_child_whose_worker_died_is_rebuilt_from_the_same_call() -> None:
    driver = Driver.__new__(Driver)  # only the state the method reads
    driver.pool = _FlakyPool()  # type: ignore[assignment]
    driver.states = {0: "parent-ref", 1: "child-ref"}
    driver._redo = {1: ("make_child", ("parent-ref", "donor-ref", [0], [1, 2], (0.4, 0.1), 17))}
    assert driver._fetch_state(0) == {"state": "parent-ref"}
    assert driver._fetch_state(1) == {"state": "rebuilt-ref"}
    assert driver.pool.redone == [("make_child", ("parent-ref", "donor-ref", [0], [1, 2], (0.4, 0.1), 17))]
    assert driver.states[1] == "rebuilt-ref"
    driver._redo = {}
    driver.states[1] = "child-ref"
    with pytest.raises(ActorDiedError):  # not a child of this step: nothing to rebuild it from
        driver._fetch_state(1)


def test_numpy_states_reach_the_checkpoints_as_tensors(ray_session: str, tmp_path: Path) -> None:
    import torch

    from pbtnas.engine.rundir import load_state

    run_search(config(epochs=2, step=2), SPACE, tmp_path / "run", keep_workers=True)
    state = load_state(next((tmp_path / "run" / "checkpoints").glob("epoch_*/member_00.pt")))
    assert state["model"] and all(isinstance(v, torch.Tensor) for v in state["model"].values())


def test_a_child_state_is_read_once_its_job_went_to_an_actor() -> None:
    from concurrent.futures import Future

    driver = Driver.__new__(Driver)
    driver.pool = _FlakyPool()  # type: ignore[assignment]
    made: Future[Any] = Future()
    made.set_result("made-ref")
    driver.states, driver._redo = {3: made}, {}
    assert driver._fetch_state(3) == {"state": "made-ref"}
    assert driver.states[3] == "made-ref"


def test_a_failed_dispatcher_fails_every_waiting_batch_and_child() -> None:
    from concurrent.futures import Future

    from pbtnas.engine.execution import Dispatcher, TrainJob

    dispatcher = Dispatcher(pool=None)  # type: ignore[arg-type]
    batch = TrainBatch(dispatcher, 1, reload=lambda slot: None, max_retries=0, on_done=None)
    made: Future[Any] = Future()
    job = TrainJob(slot=0, state=None, values=[0], start=0, end=2, train_seed=1, eval_seed=2,
                   make=("make_child", ()), made=made)
    dispatcher.batches.append(batch)
    dispatcher.queue.append((batch, job))
    dispatcher._fail(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        batch.wait()
    with pytest.raises(RuntimeError, match="boom"):
        made.result(timeout=1)


def test_a_search_that_raises_leaves_a_kept_pool_clean(
    ray_session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With overlapping steps a raising driver leaves the next step's survivors queued or training: they are cancelled,
    so the next search on the kept workers gets them alone and its result is the same as on a fresh pool's."""
    from pbtnas.engine import commands

    run_search(config(), SPACE, tmp_path / "reference", keep_workers=True)
    vary = Driver._vary

    def vary_then_fail(self: Driver, step: Any) -> Any:
        if step.end == 4:
            raise RuntimeError("driver bug")
        return vary(self, step)

    monkeypatch.setattr(Driver, "_vary", vary_then_fail)
    with pytest.raises(RuntimeError, match="driver bug"):
        run_search(config(), SPACE, tmp_path / "raised", keep_workers=True)
    pool = next(iter(commands._KEPT_POOLS.values()))
    assert not pool.dispatcher.batches and not pool.dispatcher.queue
    monkeypatch.setattr(Driver, "_vary", vary)
    run_search(config(), SPACE, tmp_path / "after", keep_workers=True)
    assert _population(tmp_path / "after", 6)["members"] == _population(tmp_path / "reference", 6)["members"]
