"""The environment wrapper: frame stack, action repeat, action scaling, observation shapes (the GL choice: test_rl_gl.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pbtnas.tasks.rl import gl
from pbtnas.tasks.rl.env import DMCEnv, UnknownEnv, make_env, rescale_action


class FakeEnv:
    """A dm_env-like env whose k-th physics step gives reward k and whose rendered frame is filled with k."""

    def __init__(self, low: float, high: float, dim: int = 2, length: int = 7, terminal_at: int | None = None) -> None:
        self.low, self.high, self.dim, self.length, self.terminal_at = low, high, dim, length, terminal_at
        self.k = 0
        self.received: list[np.ndarray] = []

    def action_spec(self) -> SimpleNamespace:
        return SimpleNamespace(shape=(self.dim,), minimum=np.full(self.dim, self.low), maximum=np.full(self.dim, self.high))

    def _ts(self, reward: float | None, discount: float | None, last: bool) -> SimpleNamespace:
        obs = {"pos": np.array([self.k, self.k + 0.5]), "vel": np.array([[-self.k]])}
        return SimpleNamespace(observation=obs, reward=reward, discount=discount, last=lambda: last)

    def reset(self) -> SimpleNamespace:
        self.k = 0
        return self._ts(None, None, False)

    def step(self, action: np.ndarray) -> SimpleNamespace:
        self.received.append(np.array(action))
        self.k += 1
        terminal = self.terminal_at is not None and self.k >= self.terminal_at
        return self._ts(float(self.k), 0.0 if terminal else 1.0, terminal or self.k >= self.length)

    def render(self) -> np.ndarray:
        return np.full((6, 6, 3), self.k, dtype=np.uint8)


def test_action_scaling_maps_the_unit_box_onto_the_spec() -> None:
    low, high = np.array([0.0, -2.0]), np.array([10.0, 2.0])
    np.testing.assert_allclose(rescale_action(np.array([-1.0, -1.0]), low, high), [0.0, -2.0])
    np.testing.assert_allclose(rescale_action(np.array([1.0, 1.0]), low, high), [10.0, 2.0])
    np.testing.assert_allclose(rescale_action(np.array([0.0, 0.5]), low, high), [5.0, 1.0])
    np.testing.assert_allclose(rescale_action(np.array([3.0, -7.0]), low, high), [10.0, -2.0])  # clipped first


def test_wrapper_repeats_actions_sums_rewards_and_stacks_frames() -> None:
    fake = FakeEnv(low=0.0, high=10.0, length=100)
    env = DMCEnv(fake, obs_mode="pixels", frame_stack=3, action_repeat=2, render=fake.render)
    ts = env.reset()
    assert ts.obs.shape == (9, 6, 6) and ts.obs.dtype == np.uint8 and ts.first
    assert (ts.obs == 0).all()  # the first frame repeated three times
    ts = env.step(np.array([1.0, -1.0]))
    assert len(fake.received) == 2  # action repeat 2
    np.testing.assert_allclose(fake.received[0], [10.0, 0.0])  # scaled into [0, 10]
    assert ts.reward == 1.0 + 2.0
    ts = env.step(np.array([0.0, 0.0]))
    np.testing.assert_allclose(fake.received[-1], [5.0, 5.0])
    assert ts.reward == 3.0 + 4.0
    # channels hold frames (oldest first): reset (0), after step 1 (physics step 2), after step 2 (physics step 4)
    assert [int(ts.obs[3 * i, 0, 0]) for i in range(3)] == [0, 2, 4]
    assert (ts.frame == 4).all() and ts.frame.shape == (3, 6, 6)


def test_wrapper_stops_repeating_at_the_end_and_keeps_the_discount() -> None:
    fake = FakeEnv(low=-1.0, high=1.0, length=100, terminal_at=3)
    env = DMCEnv(fake, obs_mode="state", frame_stack=3, action_repeat=2)
    env.reset()
    ts = env.step(np.zeros(2))
    assert not ts.last and ts.discount == 1.0
    ts = env.step(np.zeros(2))
    assert ts.last and ts.discount == 0.0 and ts.reward == 3.0  # physics step 3 ends it, step 4 never runs
    assert len(fake.received) == 3


def test_state_observations_are_flat_vectors_without_stacking() -> None:
    fake = FakeEnv(low=-1.0, high=1.0)
    env = DMCEnv(fake, obs_mode="state", frame_stack=3, action_repeat=2)
    ts = env.reset()
    assert ts.obs.dtype == np.float32 and ts.obs.shape == (3,)
    ts = env.step(np.zeros(2))
    np.testing.assert_allclose(ts.obs, [2.0, 2.5, -2.0])


@pytest.mark.usefixtures("rendering")
def test_dm_control_pixels_shapes() -> None:
    env = make_env("cartpole_swingup", obs_mode="pixels", seed=1)
    try:
        ts = env.reset()
        assert ts.obs.shape == (9, 84, 84) and ts.obs.dtype == np.uint8
        assert env.camera == 0 and env.action_dim == 1
        ts = env.step(np.array([0.3]))
        assert ts.obs.shape == (9, 84, 84) and ts.obs.std() > 0  # a real rendered image, not a blank
    finally:
        env.close()


def test_dm_control_state_shapes() -> None:
    env = make_env("walker_walk", obs_mode="state", seed=1, time_limit=0.1)
    try:
        ts = env.reset()
        assert ts.obs.shape == (24,) and env.action_dim == 6
        n = 0
        while not ts.last:
            ts = env.step(np.zeros(6))
            n += 1
        assert n == 2  # 0.1 s = 4 physics steps of 0.025 s, action repeat 2
    finally:
        env.close()


def test_quadruped_uses_camera_2() -> None:
    env = make_env("quadruped_run", obs_mode="state", seed=0)
    try:
        assert env.camera == 2
    finally:
        env.close()


def test_unknown_env_names_a_close_match() -> None:
    with pytest.raises(UnknownEnv, match="walker_walk"):
        make_env("walker_wlak")


def test_render_failure_says_what_to_install() -> None:
    def broken() -> np.ndarray:
        raise OSError("libOSMesa.so.8: cannot open shared object file")

    env = DMCEnv(FakeEnv(-1.0, 1.0), obs_mode="pixels", render=broken, gl_backend="osmesa")
    with pytest.raises(gl.RenderingUnavailable, match="apt-get install -y libosmesa6"):
        env.reset()
