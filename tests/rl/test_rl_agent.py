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


def _sn_agent() -> Agent:
    """A drqv2_state agent with spectral norm on in the actor and both Q networks, every layer a linear one."""
    from pathlib import Path

    from pbtnas.compiler import compile_space

    space = compile_space(Path(__file__).resolve().parents[2] / "spaces" / "drqv2_state.nas",
                          {"hidden": "16", "state_dim": "5", "action_dim": "2"})
    genome = [g.options.index("on") if "sn" in g.name else 1 for g in space.genes]  # option 1: linear / a value
    return Agent(space.build(space.validate(genome), seed=0), AgentConfig(batch_size=8, aug_pad=0))


def _sn_vectors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if k.endswith(("sn_u", "sn_v"))}


def _state_batch(rng: np.random.Generator, b: int = 8) -> dict[str, np.ndarray]:
    return {
        "obs": rng.normal(size=(b, 5)).astype(np.float32),
        "next_obs": rng.normal(size=(b, 5)).astype(np.float32),
        "action": rng.uniform(-1, 1, (b, 2)).astype(np.float32),
        "reward": rng.uniform(0, 1, (b, 1)).astype(np.float32),
        "discount": np.full((b, 1), 0.99, np.float32),
    }


def test_acting_runs_no_power_iteration_and_keeps_train_mode() -> None:
    agent = _sn_agent()
    before = _sn_vectors(agent.model)
    assert len(before) > 10
    rng = np.random.default_rng(0)
    for step in (0, 5000):  # exploring and acting with the policy
        agent.act(rng.normal(size=5).astype(np.float32), step, eval_mode=False, rng=rng)
    after = _sn_vectors(agent.model)
    assert all(torch.equal(after[k], before[k]) for k in before)  # acting is in eval mode, as the reference
    assert agent.model.training
    agent.update(_state_batch(rng), step=5000)
    moved = _sn_vectors(agent.model)
    assert any(not torch.equal(moved[k], before[k]) for k in before if k.startswith("actor."))


def test_soft_update_moves_parameters_only_and_the_target_iterates_its_own_vectors() -> None:
    agent = _sn_agent()
    rng = np.random.default_rng(1)
    agent.update(_state_batch(rng), step=5000)
    target_vectors = _sn_vectors(agent.target)
    critic_vectors = _sn_vectors(agent.model.critic)
    assert any(not torch.equal(target_vectors[k], critic_vectors[k]) for k in target_vectors)
    params = {k: p.clone() for k, p in agent.target.named_parameters()}
    agent.soft_update()
    assert all(torch.equal(v, agent.target.state_dict()[k]) for k, v in target_vectors.items())  # not copied
    critic = dict(agent.model.critic.named_parameters())
    for k, p in agent.target.named_parameters():
        torch.testing.assert_close(p, (1 - agent.config.tau) * params[k] + agent.config.tau * critic[k],
                                   rtol=0, atol=1e-7)
    # the target's own forward (training mode, in the critic update) is what moves its vectors
    agent.update(_state_batch(rng), step=5002)
    assert any(not torch.equal(agent.target.state_dict()[k], v) for k, v in target_vectors.items())
