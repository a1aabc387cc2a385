"""What a resumed RL member trains from: with ``replay_checkpoint`` exactly the data an uninterrupted run has.

A resume gives a member the state of its last checkpoint and the same seeds; these tests play both ways a resumed
member can find its store (gone with the old cluster, or still holding a killed step's episodes) and compare the
result with the member that was never interrupted."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from pbtnas.tasks.rl import RLOptions, RLTask

from .doubles import DoubleSpace

STATE: dict[str, Any] = {
    "preset": "tiny",
    "env": "cartpole_swingup",
    "obs": "state",
    "frames_per_epoch": 200,  # 100 agent steps: two episodes of 50
    "time_limit": 1.0,
    "num_expl_steps": 40,
    "num_seed_steps": 40,
    "batch_size": 16,
    "replay_capacity": 1000,
    "eval_episodes": 1,
    "video": False,
}


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint does to a state (torch.save, then load with weights_only)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)  # type: ignore[no-any-return]


def tensors(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    out = {f"model.{k}": v for k, v in state["model"].items()}
    out.update({f"target.{k}": v for k, v in state["shadows"]["target"].items()})
    out.update({f"optim.{k}.{f}": v for k, fields in state["optim"].items() for f, v in fields.items()})
    return out


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ta, tb = tensors(a), tensors(b)
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


LEARNING = ("critic_loss", "actor_loss", "q", "updates", "train_return", "step")


@pytest.fixture
def task(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RLTask]:
    # Stores are Ray actors when a test before this one started Ray, in-process ones otherwise; either way they
    # must not outlive the test.
    t = RLTask(DoubleSpace(action_dim=1, obs="state", state_dim=5), {**STATE, **request.param}, tmp_path)
    try:
        yield t
    finally:
        t.close()


@pytest.mark.parametrize("task", [{"replay_checkpoint": True}], indirect=True)
def test_resumed_member_trains_exactly_like_the_uninterrupted_one(task: RLTask, tmp_path: Path) -> None:
    after1, m1 = task.train(task.new_member(None, 0), None, 0, 1, seed=1)
    after1 = roundtrip(after1)  # the checkpoint of epoch 1
    info = after1["meta"]["replay"]
    snap = tmp_path / "replay" / info["snapshot"]
    assert snap.exists() and info["total"] == 102  # 100 steps + 2 reset steps
    # disk per transition = memory per transition: the file is the filled part of the ring plus a small header
    per_step = (snap.stat().st_size - 4096) / info["total"]
    assert m1["replay_snapshot_bytes"] == snap.stat().st_size and per_step <= 5 * 4 + 4 + 4 + 4 + 8 + 8

    live, m_live = task.train(after1, None, 1, 2, seed=2)  # uninterrupted
    assert m_live["replay_restored"] == 0 and m_live["updates"] == 50
    assert not list((tmp_path / "replay" / info["id"]).glob("epoch_000000*"))  # older snapshots are deleted

    # a killed step left episodes in the surviving store: the member retrains from its snapshot, not from those
    retried, m_retry = task.train(after1, None, 1, 2, seed=2)
    assert m_retry["replay_forked"] == 1 and same(retried, live)
    assert {k: m_retry[k] for k in LEARNING} == {k: m_live[k] for k in LEARNING}

    # a new cluster has no stores at all: the store is rebuilt from the snapshot
    task.registry.release()
    resumed, m_res = task.train(after1, None, 1, 2, seed=2)
    assert m_res["replay_restored"] == 1 and same(resumed, live)
    assert {k: m_res[k] for k in LEARNING} == {k: m_live[k] for k in LEARNING}
    assert task.evaluate(resumed, None, seed=9) == task.evaluate(live, None, seed=9)


@pytest.mark.parametrize("task", [{}], indirect=True)
def test_without_snapshots_a_resumed_member_refills_and_diverges(task: RLTask, tmp_path: Path) -> None:
    # the default (and what the test above would see if restoring did nothing): an empty store after a resume
    after1 = roundtrip(task.train(task.new_member(None, 0), None, 0, 1, seed=1)[0])
    assert "snapshot" not in after1["meta"]["replay"] and not (tmp_path / "replay").exists()
    live, _ = task.train(after1, None, 1, 2, seed=2)
    task.registry.release()
    resumed, m_res = task.train(after1, None, 1, 2, seed=2)
    assert m_res["replay_restored"] == 0 and not same(resumed, live)
    assert resumed["meta"]["step"] == live["meta"]["step"] == 200  # the step counter is kept either way


def test_replay_checkpoint_refuses_a_shared_buffer() -> None:
    with pytest.raises(ValueError, match="private buffers only"):
        RLOptions(env="walker_walk", shared_replay=True, replay_checkpoint=True)
