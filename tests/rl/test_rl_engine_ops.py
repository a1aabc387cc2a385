"""Whole-model weight operations on an RL member include its target critic, as in the authors' code (which keeps
critic_target inside the model's state dict): random search + shrink-perturb, and SEARL's weight mutation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pbtnas.compiler import compile_space
from pbtnas.engine.mutation import searl_mutate_state
from pbtnas.engine.runner import MemberRunner, loader_name

SPACE = Path(__file__).resolve().parents[2] / "spaces" / "drqv2_state.nas"
OPTIONS = {"env": "cartpole_swingup", "obs": "state", "preset": "tiny", "video": False}


@pytest.fixture(scope="module")
def runner() -> MemberRunner:
    space = compile_space(SPACE, {"hidden": "16", "state_dim": "5", "action_dim": "1"})
    return MemberRunner(loader_name(type(space)), space.to_json(), "rl", OPTIONS)


def _genome(runner: MemberRunner) -> list[int]:
    # spectral norm on everywhere, so the SN vectors of the target are part of what is checked
    return [g.options.index("on") if "sn" in g.name else 1 for g in runner.space.genes]


def test_random_search_shrink_perturb_perturbs_the_target_critic_too(runner: MemberRunner) -> None:
    values = _genome(runner)
    state = runner.new_member(values, seed=1)
    # make the target differ from the critic, and add a shadow the task does not count as part of the model
    state["shadows"]["target"] = {k: v + 0.5 if v.is_floating_point() else v
                                  for k, v in state["shadows"]["target"].items()}
    state["shadows"]["ema"] = {k: v.clone() for k, v in state["model"].items() if k.startswith("actor.")}
    out = runner.perturb_all(state, values, (0.4, 0.1), seed=7)
    fresh = runner._fresh(values, 7)
    target = out["shadows"]["target"]
    assert set(target) == set(state["shadows"]["target"])
    for k, v in state["shadows"]["target"].items():
        if k.endswith(("sn_u", "sn_v")):
            assert float(target[k].norm()) == pytest.approx(1.0, abs=1e-5)  # renormalised like the model's
        else:
            torch.testing.assert_close(target[k], 0.4 * v + 0.1 * fresh[k], rtol=0, atol=1e-6)
    for k, v in state["shadows"]["ema"].items():
        assert torch.equal(out["shadows"]["ema"][k], v)  # other shadows (a GAN's EMA) are left alone
    for k, v in state["model"].items():
        if not k.endswith(("sn_u", "sn_v")):
            torch.testing.assert_close(out["model"][k], 0.4 * v + 0.1 * fresh[k], rtol=0, atol=1e-6)


def test_searl_weight_mutation_draws_from_the_target_critic_too(runner: MemberRunner) -> None:
    assert tuple(runner.task.shadows_in_model) == ("target",)
    state = runner.new_member(_genome(runner), seed=2)
    eligible = {k for k, v in state["shadows"]["target"].items() if v.dim() >= 2 and "norm" not in k}
    hit_target = hit_model = 0
    for seed in range(12):
        out = searl_mutate_state(state, seed, ("target",))
        changed = {k for k, v in out["shadows"]["target"].items() if not torch.equal(v, state["shadows"]["target"][k])}
        assert changed <= eligible
        hit_target += bool(changed)
        hit_model += any(not torch.equal(v, state["model"][k]) for k, v in out["model"].items())
        again = searl_mutate_state(state, seed, ("target",))
        assert all(torch.equal(again["shadows"]["target"][k], v) for k, v in out["shadows"]["target"].items())
        untouched = searl_mutate_state(state, seed)  # without the name, the target is never touched
        assert all(torch.equal(untouched["shadows"]["target"][k], v) for k, v in state["shadows"]["target"].items())
    assert hit_target and hit_model
    # the runner (what the mutation baseline calls) passes the task's shadows_in_model
    seed = next(s for s in range(12) if any(not torch.equal(v, state["shadows"]["target"][k]) for k, v in
                                            searl_mutate_state(state, s, ("target",))["shadows"]["target"].items()))
    via_runner = runner.mutate(state, "weights", None, _genome(runner), seed=seed)
    expected = searl_mutate_state(state, seed, ("target",))
    assert all(torch.equal(via_runner["shadows"]["target"][k], v) for k, v in expected["shadows"]["target"].items())
