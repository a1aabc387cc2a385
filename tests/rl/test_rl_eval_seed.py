"""Why one evaluation seed for every member of a step gives common start states (docs/rl.md, "Differences from
the reference"): an environment seeded alike starts its episodes alike, whatever actions were taken before."""

from __future__ import annotations

import numpy as np
import pytest

from pbtnas.tasks.rl.env import make_env


@pytest.mark.parametrize("name", ["cartpole_swingup", "walker_walk"])
def test_same_seed_same_start_states_whatever_the_policy(name: str) -> None:
    starts = []
    for policy in ("zeros", "random"):
        env = make_env(name, obs_mode="state", seed=123, action_repeat=8, time_limit=1.0)
        rng = np.random.default_rng(0)
        try:
            seen = []
            for _ in range(3):
                ts = env.reset()
                seen.append(ts.obs.copy())
                while not ts.last:
                    a = np.zeros(env.action_dim) if policy == "zeros" else rng.uniform(-1, 1, env.action_dim)
                    ts = env.step(a.astype(np.float32))
            starts.append(seen)
        finally:
            env.close()
    zeros, random = starts
    assert all(np.array_equal(a, b) for a, b in zip(zeros, random, strict=True))
    assert not np.array_equal(zeros[0], zeros[1])  # the episodes differ from each other: the states are drawn
    other = make_env(name, obs_mode="state", seed=124, action_repeat=8, time_limit=1.0)
    try:
        assert not np.array_equal(other.reset().obs, zeros[0])  # and they depend on the seed
    finally:
        other.close()
