"""One DrQ-v2 update: encoder, actor and critic all move; the target critic moves by exactly tau."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pbtnas.tasks.rl.agent import Agent, AgentConfig, linear_stddev, noisy_action

from .doubles import DoubleSpace


def batch(rng: np.random.Generator, b: int = 8) -> dict[str, np.ndarray]:
    return {
        "obs": rng.integers(0, 256, (b, 9, 84, 84)).astype(np.uint8),
        "next_obs": rng.integers(0, 256, (b, 9, 84, 84)).astype(np.uint8),
        "action": rng.uniform(-1, 1, (b, 2)).astype(np.float32),
        "reward": rng.uniform(0, 1, (b, 1)).astype(np.float32),
        "discount": np.full((b, 1), 0.99**3, np.float32),
    }


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_update_moves_every_network_and_the_target_by_tau() -> None:
    space = DoubleSpace(action_dim=2)
    agent = Agent(space.build(None, 0), AgentConfig(tau=0.01, batch_size=8))
    # make the target differ from the critic first, so that "moves by tau" is not trivially "equals the critic"
    agent.update(batch(np.random.default_rng(0)), step=10_000)
    before = {name: snapshot(getattr(agent.model, name)) for name in ("encoder", "actor", "critic")}
    target_before = snapshot(agent.target)
    agent.update(batch(np.random.default_rng(1)), step=10_002)
    for name in ("encoder", "actor", "critic"):
        after = snapshot(getattr(agent.model, name))
        assert any(not torch.equal(after[k], before[name][k]) for k in after), f"{name} did not change"
    critic_after = snapshot(agent.model.critic)
    target_after = snapshot(agent.target)
    for k in target_after:
        expected = (1 - 0.01) * target_before[k] + 0.01 * critic_after[k]
        torch.testing.assert_close(target_after[k], expected, rtol=0, atol=1e-7)
        assert not torch.equal(target_after[k], critic_after[k])


def test_state_roundtrip_keeps_weights_target_and_moments() -> None:
    space = DoubleSpace(action_dim=2)
    agent = Agent(space.build(None, 0), AgentConfig(batch_size=8))
    agent.update(batch(np.random.default_rng(0)), step=5000)
    model, shadows, optim = agent.dump()
    assert set(shadows["target"]) == {f"critic.{k}" for k in agent.model.critic.state_dict()}
    assert set(optim) == {k for k, _ in agent.model.named_parameters()}  # all three optimizers, by name
    clone = Agent(space.build(None, 1), AgentConfig(batch_size=8))
    clone.load({"model": model, "shadows": shadows, "optim": optim, "meta": {}})
    b = batch(np.random.default_rng(2))
    torch.manual_seed(0)
    clone.generator.manual_seed(0)
    agent.generator.manual_seed(0)
    la = agent.update(b, step=5002)
    lb = clone.update(b, step=5002)
    assert la == pytest.approx(lb)


def test_exploration_schedule_and_noise_clip() -> None:
    assert linear_stddev(0, 1.0, 0.1, 500_000) == 1.0
    assert linear_stddev(250_000, 1.0, 0.1, 500_000) == pytest.approx(0.55)
    assert linear_stddev(10**7, 1.0, 0.1, 500_000) == pytest.approx(0.1)
    mean = torch.zeros(10_000, 1)
    a = noisy_action(mean, std=1.0, clip=0.3)
    assert a.abs().max() <= 0.3 + 1e-6
    wide = noisy_action(mean + 0.9, std=1.0, clip=None)
    assert wide.max() < 1.0 and wide.min() > -1.0 and (wide > 0.999).any()  # clamped inside (-1, 1)


def test_exploration_then_policy_actions() -> None:
    space = DoubleSpace(action_dim=2)
    agent = Agent(space.build(None, 0), AgentConfig(num_expl_steps=100))
    rng = np.random.default_rng(0)
    obs = np.zeros((9, 84, 84), np.uint8)
    mean = agent.act(obs, 0, eval_mode=True, rng=rng)
    assert np.array_equal(agent.act(obs, 10**6, eval_mode=True, rng=rng), mean)  # evaluation uses the mean
    random_actions = np.stack([agent.act(obs, 5, eval_mode=False, rng=rng) for _ in range(200)])
    assert random_actions.min() < -0.9 and random_actions.max() > 0.9  # uniform in [-1, 1] while exploring
    assert not agent.should_update(1998) and agent.should_update(2000) and not agent.should_update(2001)
