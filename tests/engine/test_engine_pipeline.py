"""The pipelined step: the next step is on the workers before the driver writes the finished one, and a child
whose worker died before the driver fetched it is rebuilt (deterministically) instead of stopping the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_double import DoubleSpace
from ray.exceptions import ActorDiedError

from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.driver import Driver
from pbtnas.engine.execution import ActorPool
from pbtnas.engine.rundir import RunDir

SPACE = DoubleSpace(n_layers=3, width=16)


def config(**kw: Any) -> SearchConfig:
    base: dict[str, Any] = {"space": "double", "population": 4, "epochs": 6, "step": 2, "seed": 5, "workers": 2,
                            "progress": False, "task_options": {"train_limit": 120, "lr": 0.01}}
    base.update(kw)
    return resolve_task_options(SearchConfig.model_validate(base))


def test_the_next_step_is_submitted_before_the_finished_step_is_written(
    ray_session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace: list[tuple[str, int]] = []
    submit, save = ActorPool.submit, RunDir.write_checkpoint

    def traced_submit(self: ActorPool, jobs: list[Any], *args: Any, **kw: Any) -> Any:
        trace.append(("submit", jobs[0].start))
        return submit(self, jobs, *args, **kw)

    def traced_save(self: RunDir, staging: Path, slot: int, state: Any) -> Any:
        trace.append(("save", int(staging.name.split("_")[1].split(".")[0])))
        return save(self, staging, slot, state)

    monkeypatch.setattr(ActorPool, "submit", traced_submit)
    monkeypatch.setattr(RunDir, "write_checkpoint", traced_save)
    run_search(config(), SPACE, tmp_path / "run", keep_workers=True)
    order = [event for i, event in enumerate(trace) if i == 0 or trace[i - 1] != event]  # one entry per phase
    # initial checkpoints, then: step 0-2 trains; step 2-4 is submitted before epoch 2 is written, and so on
    assert order == [("save", 0), ("submit", 0), ("submit", 2), ("save", 2), ("submit", 4), ("save", 4), ("save", 6)]


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
