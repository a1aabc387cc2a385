"""Replay: n-step arithmetic, frame-stack reconstruction, capacity and eviction, forks."""

from __future__ import annotations

import numpy as np
import pytest

from pbtnas.tasks.rl.replay import Episode, NotEnoughData, ReplayConfig, ReplayStore, nstep_return


def make_episode(first: int, length: int, *, terminal: bool = False) -> Episode:
    """Steps 0..length; frame t and action t hold the global label first + t, reward t = first + t."""
    t = np.arange(length + 1)
    labels = first + t
    frames = np.broadcast_to(labels[:, None, None, None] % 256, (length + 1, 3, 2, 2)).astype(np.uint8)
    actions = labels[:, None].astype(np.float32)
    rewards = labels.astype(np.float32)
    rewards[0] = 0.0
    discounts = np.ones(length + 1, np.float32)
    if terminal:
        discounts[-1] = 0.0
    actions[0] = 0.0
    return Episode(frames=frames.copy(), actions=actions, rewards=rewards, discounts=discounts)


def config(capacity: int, nstep: int = 3, stack: int = 3, gamma: float = 0.9) -> ReplayConfig:
    return ReplayConfig(capacity=capacity, frame_shape=(3, 2, 2), frame_dtype="uint8", action_dim=1,
                        frame_stack=stack, nstep=nstep, gamma=gamma)


def test_nstep_return_by_hand() -> None:
    r = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 4.0]])
    d = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])  # the second transition terminates on its second step
    ret, disc = nstep_return(r, d, gamma=0.5)
    np.testing.assert_allclose(ret[:, 0], [1 + 0.5 * 2 + 0.25 * 4, 1 + 0.5 * 2])
    np.testing.assert_allclose(disc[:, 0], [0.125, 0.0])


def test_samples_are_consistent_nstep_transitions() -> None:
    store = ReplayStore(config(1000, nstep=3, gamma=0.9))
    store.add_episode(make_episode(0, 20))
    store.add_episode(make_episode(100, 20, terminal=True))
    batch = store.sample(512, np.random.default_rng(0))
    obs, nxt = batch["obs"], batch["next_obs"]
    assert obs.shape == (512, 9, 2, 2) and nxt.shape == (512, 9, 2, 2)
    j = obs[:, 6, 0, 0].astype(int)  # newest frame = label of the start step
    first = np.where(j >= 100, 100, 0)
    # stacks repeat the episode's first frame instead of reaching into the previous episode
    np.testing.assert_array_equal(obs[:, 0, 0, 0], np.maximum(j - 2, first))
    np.testing.assert_array_equal(obs[:, 3, 0, 0], np.maximum(j - 1, first))
    np.testing.assert_array_equal(nxt[:, 6, 0, 0], j + 3)  # never crosses an episode's end
    np.testing.assert_array_equal(batch["action"][:, 0], j + 1)
    g = 0.9
    expected = (j + 1) + g * (j + 2) + g * g * (j + 3)
    np.testing.assert_allclose(batch["reward"][:, 0], expected, rtol=1e-5)
    last_of_terminal = (j == 117)  # its third reward lands on the terminal step: no bootstrap
    np.testing.assert_allclose(batch["discount"][~last_of_terminal, 0], g**3, rtol=1e-6)
    np.testing.assert_allclose(batch["discount"][last_of_terminal, 0], 0.0)
    assert set(np.unique(j)) == set(range(0, 18)) | set(range(100, 118))  # every valid start is drawn


def test_capacity_and_eviction() -> None:
    store = ReplayStore(config(50, nstep=1, stack=3))
    for e in range(5):  # 5 episodes of 21 steps = 105 steps into 50 slots
        store.add_episode(make_episode(e * 40, 20))  # episode e: absolute steps 21e..21e+20, labels 40e..40e+20
    assert len(store) == 50 and store.total == 105 and store.oldest == 55
    assert store.nbytes() < 50 * (12 + 4 + 4 + 4 + 16) + 1  # memory is bounded by the capacity
    batch = store.sample(2000, np.random.default_rng(1))
    labels = batch["obs"][:, 6, 0, 0].astype(int)
    # absolute steps 55..104 survive: episode 2's tail (labels 93..100) and episodes 3 and 4 whole. Valid starts
    # exclude the last step of each episode and, in episode 2, starts whose frame stack reaches evicted steps
    assert set(np.unique(labels)) == set(range(95, 100)) | set(range(120, 140)) | set(range(160, 180))


def test_not_enough_data_and_too_long_episodes() -> None:
    store = ReplayStore(config(30, nstep=3))
    with pytest.raises(NotEnoughData):
        store.sample(4, np.random.default_rng(0))
    store.add_episode(make_episode(0, 2))  # 2 transitions cannot hold a 3-step return
    with pytest.raises(NotEnoughData):
        store.sample(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="does not fit"):
        store.add_episode(make_episode(0, 40))


def test_export_load_keeps_the_steps_before_a_cut() -> None:
    src = ReplayStore(config(100))
    src.add_episode(make_episode(0, 20))
    cut = src.total
    src.add_episode(make_episode(50, 20))
    dst = ReplayStore(config(100))
    dst.load(src.export(upto=cut))
    assert len(dst) == 21
    labels = dst.sample(500, np.random.default_rng(0))["obs"][:, 6, 0, 0]
    assert labels.max() < 50


def _same_batches(a: ReplayStore, b: ReplayStore, seed: int) -> None:
    ba, bb = a.sample(256, np.random.default_rng(seed)), b.sample(256, np.random.default_rng(seed))
    for key in ba:
        np.testing.assert_array_equal(ba[key], bb[key])


def test_snapshot_restores_the_ring_exactly_even_after_eviction(tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = ReplayStore(config(50, nstep=1, stack=3))
    for e in range(5):  # wraps: 105 steps into 50 slots
        src.add_episode(make_episode(e * 40, 20), source=f"m{e % 2}")
    nbytes = src.save(tmp_path / "snap.npz")
    # the file is the ring's bytes plus a small header: the disk cost per transition is the memory cost
    assert src.nbytes() <= nbytes <= src.nbytes() + 4096
    dst = ReplayStore(config(50, nstep=1, stack=3))
    dst.add_episode(make_episode(200, 30))  # whatever the store held before is replaced
    dst.restore(tmp_path / "snap.npz")
    assert (dst.total, dst.episodes, dst.oldest, dst.sources) == (105, 5, 55, {"m0": 3, "m1": 2})
    _same_batches(src, dst, seed=3)
    # the live store moves on and evicts: a fork taken from it now (export up to the size it had) has lost the
    # oldest steps; a fork from the snapshot has not, which is why forks read the file when snapshots are on
    cut = src.total
    src.add_episode(make_episode(7, 10))
    late = ReplayStore(config(50, nstep=1, stack=3))
    late.load(src.export(upto=cut))
    assert len(late) < len(dst) == 50
    dst.add_episode(make_episode(7, 10))
    # and after the same episode both go on identically
    _same_batches(src, dst, seed=4)
    dst.restore(None)
    assert dst.total == 0 and len(dst) == 0


def test_snapshot_errors_are_clear(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pbtnas.tasks.rl.replay import SnapshotError

    store = ReplayStore(config(50))
    with pytest.raises(SnapshotError, match="missing.*filesystem every node"):
        store.restore(tmp_path / "nope.npz")
    store.add_episode(make_episode(0, 10))
    store.save(tmp_path / "s.npz")
    with pytest.raises(SnapshotError, match="capacity 50.*needs capacity 60"):
        ReplayStore(config(60)).restore(tmp_path / "s.npz")
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file
