"""The rl Task end to end on a tiny budget: train, evaluate, video, state format, shared and private replay."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pbtnas.tasks.registry import get_task
from pbtnas.tasks.rl import RLOptions, RLTask
from pbtnas.tasks.rl.buffers import ReplayRegistry, local_stores
from pbtnas.tasks.rl.replay import ReplayConfig

from .doubles import DoubleSpace

TINY_PIXELS: dict[str, Any] = {
    "preset": "tiny",
    "env": "cartpole_swingup",
    "obs": "pixels",
    "image_size": 84,  # the doubles' encoder is built for 84x84
    "frames_per_epoch": 200,  # 100 agent steps
    "time_limit": 1.0,  # 50 agent steps per episode
    "num_expl_steps": 40,
    "num_seed_steps": 50,  # the first episode ends at step 50
    "batch_size": 16,
    "replay_capacity": 1000,
    "eval_episodes": 2,
    "video_format": "gif",
}


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)  # type: ignore[no-any-return]


def test_registry_names_the_task() -> None:
    assert get_task("rl") is RLTask


@pytest.mark.usefixtures("rendering")
def test_tiny_pixel_run_trains_evaluates_and_writes_a_video(tmp_path: Path) -> None:
    task = RLTask(DoubleSpace(action_dim=1), TINY_PIXELS, tmp_path)
    # stores in this process (not Ray actors, should another test have started Ray), so the test can read them
    task.registry = ReplayRegistry(task.registry.run_key, task.replay_config, shared=False, use_ray=False)
    state = task.new_member(None, seed=3)
    assert set(state["shadows"]["target"]) == {k for k in state["model"] if k.startswith("critic.")}
    state, metrics = task.train(roundtrip(state), None, 0, 1, seed=11)
    state = roundtrip(state)  # plain tensors and JSON-able meta only
    assert state["meta"]["step"] == 100 and state["meta"]["frames"] == 200 and state["meta"]["episodes"] == 2
    assert metrics["updates"] == 25 and metrics["updates_skipped"] == 0  # steps 50, 52, ..., 98
    assert np.isfinite(metrics["critic_loss"])
    # train_return is the mean return of the call's finished episodes: recompute it from the rewards the store
    # received (two episodes of 50 agent steps); cartpole pays at most 1 per frame, so at most 2 per agent step
    rid = state["meta"]["replay"]["id"]
    (store,) = [s for n, s in local_stores().items() if task.registry.run_key in n and n.endswith(f"/member-{rid}")]
    data = store.export()
    per_episode = [float(data["rewards"][data["ep_start"] == start].sum()) for start in np.unique(data["ep_start"])]
    assert len(per_episode) == 2
    assert metrics["train_return"] == pytest.approx(np.mean(per_episode), rel=1e-5)
    assert 0 < metrics["train_return"] <= 2 * 50
    assert set(state["optim"]) == {k for k, v in task.space.build(None, 0).named_parameters()}
    # the global step continues: a second call neither explores uniformly again nor waits for seed steps
    state, metrics = task.train(state, None, 1, 2, seed=12)
    assert state["meta"]["step"] == 200 and metrics["updates"] == 50
    fitness = task.evaluate(state, None, seed=5)
    # the mean of the evaluation episodes (deterministic: the mean action, a seeded environment), within the bound
    # of 2 per agent step of the 50-step episodes
    assert fitness == pytest.approx(np.mean(task.evaluate_episodes(state, None, 5, 2)), rel=1e-6)
    assert 0 < fitness <= 2 * 50
    videos = list((tmp_path / "videos").glob("*.gif"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
    from PIL import Image

    with Image.open(videos[0]) as im:
        assert im.size == (84, 84) and im.n_frames == 51  # the reset frame plus 50 steps of the first episode


def test_mp4_video(tmp_path: Path) -> None:
    from pbtnas.tasks.rl.video import write_video

    frames = [np.full((84, 84, 3), i * 10, np.uint8) for i in range(10)]
    path = write_video(frames, tmp_path / "v.mp4")
    assert path.stat().st_size > 500 and not list(tmp_path.glob(".*tmp*"))


def test_state_mode_trains(tmp_path: Path) -> None:
    opts = {**TINY_PIXELS, "obs": "state", "frames_per_epoch": 400, "time_limit": 1.0, "video": False}
    task = RLTask(DoubleSpace(action_dim=1, obs="state", state_dim=5), opts, tmp_path)
    state, metrics = task.train(task.new_member(None, 0), None, 0, 1, seed=1)
    assert state["meta"]["step"] == 200 and metrics["updates"] == 75


def test_space_with_wrong_action_dim_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--set action_dim=1"):
        RLTask(DoubleSpace(action_dim=6), TINY_PIXELS, tmp_path)


def test_presets_fill_only_what_the_user_left_out() -> None:
    walker = RLOptions(preset="paper", env="walker_run")
    assert (walker.nstep, walker.batch_size, walker.shared_replay, walker.replay_capacity) == (1, 512, True, 10**6)
    assert (walker.epochs, walker.e_step, walker.population) == (300, 10, 12)
    assert walker.step_schedule == [{"until_epoch": 150, "step": 20}]  # mixing every 20 epochs in the first half
    quad = RLOptions(preset="paper", env="quadruped_run")
    assert (quad.nstep, quad.batch_size, quad.shared_replay, quad.replay_capacity) == (3, 256, False, 10**5)
    hum = RLOptions(preset="paper", env="humanoid_run")
    assert (hum.lr, hum.stddev_duration, hum.epochs, hum.e_step) == (8e-5, 2_000_000, 1500, 100)
    assert hum.epochs * hum.frames_per_epoch == 15_000_000
    assert RLOptions(preset="paper", env="walker_run", batch_size=256).batch_size == 256
    with pytest.raises(ValueError):
        RLOptions(preset="paper", env="walker_run", bogus=1)


def _episode(label: int, length: int = 10):  # type: ignore[no-untyped-def]
    from .test_rl_replay import make_episode

    return make_episode(label, length)


def _config() -> ReplayConfig:
    return ReplayConfig(capacity=500, frame_shape=(3, 2, 2), frame_dtype="uint8", action_dim=1, frame_stack=3,
                        nstep=1, gamma=0.99)


def test_two_agents_on_one_shared_buffer_see_each_others_episodes() -> None:
    # two registries = two task instances (two agents' workers) on one machine, same run
    a = ReplayRegistry("run-shared", _config(), shared=True, use_ray=False)
    b = ReplayRegistry("run-shared", _config(), shared=True, use_ray=False)
    meta_a: dict[str, Any] = {}
    meta_b: dict[str, Any] = {}
    ca, _ = a.for_member(meta_a, 0, seed=1)
    cb, _ = b.for_member(meta_b, 0, seed=2)
    ca.add_episode(_episode(10), "agent-a")
    cb.add_episode(_episode(100), "agent-b")
    for client in (ca, cb):
        labels = set(client.sample(400)["obs"][:, 6, 0, 0].tolist())
        assert labels & set(range(10, 20)) and labels & set(range(100, 110))  # both agents' experience
    stores = [s for name, s in local_stores().items() if "run-shared" in name]
    assert len(stores) == 1 and stores[0].sources == {"agent-a": 1, "agent-b": 1}  # one copy of the data


def test_private_buffers_fork_when_a_child_inherits_the_bases_buffer() -> None:
    reg = ReplayRegistry("run-private", _config(), shared=False, use_ray=False)
    base: dict[str, Any] = {}
    other: dict[str, Any] = {}
    cb, _ = reg.for_member(base, 0, seed=1)
    co, _ = reg.for_member(other, 0, seed=2)
    assert base["replay"]["id"] != other["replay"]["id"]
    cb.add_episode(_episode(10), "base")
    co.add_episode(_episode(100), "other")
    assert set(cb.sample(200)["obs"][:, 6, 0, 0].tolist()) <= set(range(10, 20))  # private: no sharing
    # after mixing, the child's meta is a copy of the base's
    child = {"replay": dict(base["replay"])}
    cb2, c1 = reg.for_member(base, 2, seed=3)
    cb2.add_episode(_episode(50), "base")  # the base trains on before the child claims its buffer
    cc, c2 = reg.for_member(child, 2, seed=4)
    assert c1["replay_forked"] == 0 and c2["replay_forked"] == 1
    assert child["replay"]["id"] != base["replay"]["id"]
    assert set(cc.sample(200)["obs"][:, 6, 0, 0].tolist()) <= set(range(10, 20))  # the base's data at the fork
    # the member that was replaced (never claimed again) is freed one step later
    co_name = f"pbtnas-replay/run-private/member-{other['replay']['id']}"
    assert co_name in local_stores()
    reg.for_member(base, 4, seed=5)
    assert co_name not in local_stores()
