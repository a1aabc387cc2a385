"""Mutation, soups, config, the in-process member runner."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_double import DoubleSpace

from pbtnas.engine.config import ConfigError, SearchConfig, load_config_file, validate_config
from pbtnas.engine.mutation import draw_mutation, searl_weight_mutation
from pbtnas.engine.runner import MemberRunner
from pbtnas.engine.soup import average_states, greedy_soup
from pbtnas.engine.statedict import ShrinkPerturb
from pbtnas.tasks.registry import UnknownTask, get_task

SPACE = DoubleSpace(n_layers=2, width=8)


def test_architecture_mutation_changes_exactly_one_gene() -> None:
    counts = (4, 2, 4, 2, 1)
    base = (1, 0, 3, 1, 0)
    kinds = set()
    for seed in range(300):
        plan = draw_mutation(np.random.default_rng(seed), counts, base)
        kinds.add(plan.kind)
        diff = [i for i in range(len(base)) if plan.child_genome[i] != base[i]]
        if plan.kind == "architecture":
            assert diff == [plan.gene] and plan.gene != 4  # never the single-option gene
        else:
            assert diff == [] and plan.gene is None
    assert kinds == {"copy", "weights", "architecture"}


def test_searl_weight_mutation_touches_only_eligible_tensors_and_is_seeded() -> None:
    model = {
        "a.weight": torch.ones(50, 4),
        "a.bias": torch.ones(50),
        "a.norm.weight": torch.ones(50, 4),
        "b.weight": torch.ones(40, 3) * 2,
    }
    changed_any = False
    for seed in range(20):
        out = searl_weight_mutation(model, seed)
        assert torch.equal(out["a.bias"], model["a.bias"]) and torch.equal(out["a.norm.weight"], model["a.norm.weight"])
        changed_any |= not torch.equal(out["a.weight"], model["a.weight"]) or not torch.equal(out["b.weight"],
                                                                                            model["b.weight"])
        again = searl_weight_mutation(model, seed)
        assert all(torch.equal(out[k], again[k]) for k in out)
        assert all(float(v.abs().max()) <= 1e6 for v in out.values())
    assert changed_any


def test_soup_average_and_greedy_keeps_only_improvements() -> None:
    def st(x: float) -> dict:
        return {"model": {"w": torch.full((2,), x), "n": torch.tensor(3)}, "shadows": {"ema": {"w": torch.full((2,), -x)}},
                "optim": {}, "meta": {}}

    avg = average_states([st(1.0), st(3.0)])
    assert torch.equal(avg["model"]["w"], torch.full((2,), 2.0)) and int(avg["model"]["n"]) == 3
    assert torch.equal(avg["shadows"]["ema"]["w"], torch.full((2,), -2.0))
    # fitness = -(w - 2)^2: averaging 1 and 3 gives the optimum; adding 10 afterwards would hurt
    result = greedy_soup([st(1.0), st(3.0), st(10.0)], lambda s: -float((s["model"]["w"][0] - 2.0) ** 2))
    assert result.ingredients == [0, 1]
    assert result.fitness == 0.0 and result.baseline == -1.0
    assert [kept for _, _, kept in result.trials] == [True, False]


def test_config_from_toml_with_cli_precedence(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'space = "spaces/digits.nas"\npopulation = 12\nshrink_perturb = "1,0"\n'
        "[task_options]\nbatch_size = 32\n[[step_schedule]]\nuntil_epoch = 10\nstep = 4\n"
    )
    values = load_config_file(path)
    values.update({"population": 6})
    cfg = validate_config(values)
    assert cfg.population == 6 and cfg.task_options == {"batch_size": 32}
    assert cfg.effective_shrink_perturb() == ShrinkPerturb(1.0, 0.0)
    assert [(s.start, s.end) for s in cfg.steps()][:3] == [(0, 4), (4, 8), (8, 10)]
    assert SearchConfig(space="x").effective_shrink_perturb() == ShrinkPerturb(0.4, 0.1)
    assert SearchConfig(space="x", algorithm="random").effective_shrink_perturb() is None


def test_config_errors_are_clean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="population"):
        validate_config({"space": "x", "population": 0})
    with pytest.raises(ConfigError, match="popluation"):
        validate_config({"space": "x", "popluation": 4})
    with pytest.raises(ConfigError, match="mix_with_self"):
        validate_config({"space": "x", "algorithm": "random", "mix_with_self": True})
    bad = tmp_path / "bad.toml"
    bad.write_text("population = [")
    with pytest.raises(ConfigError, match="TOML"):
        load_config_file(bad)


def test_registry() -> None:
    assert get_task("classify").name == "classify"
    with pytest.raises(UnknownTask, match="known tasks"):
        get_task("nope")


@pytest.fixture(scope="module")
def runner() -> MemberRunner:
    return MemberRunner(
        "engine_double:DoubleSpace", SPACE.to_json(), "engine_tasks:FailingClassify",
        {"train_limit": 128, "fail_gene0": 1, "fail_at_epoch": 0, "fail_mode": "raise"},
    )


def test_runner_trains_deterministically(runner: MemberRunner) -> None:
    values = [2, 0, 3, 1]
    state = runner.new_member(values, 5)
    a, ra = runner.train_eval(state, values, 0, 1, 11, 3)
    b, rb = runner.train_eval(state, values, 0, 1, 11, 3)
    assert not ra["failed"] and ra["fitness"] == rb["fitness"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert set(a["optim"]) == {k for k, _ in SPACE.build(SPACE.validate(values)).named_parameters()}


def test_runner_reports_failures_and_keeps_the_input_state(runner: MemberRunner) -> None:
    values = [1, 0, 1, 0]
    state = runner.new_member(values, 5)
    out, report = runner.train_eval(state, values, 0, 1, 11, 3)
    assert report["failed"] and "diverged" in report["error"]
    assert out is state
    runner.task.options.fail_mode = "nan"
    out, report = runner.train_eval(state, values, 0, 1, 11, 3)
    assert report["failed"] and "non-finite" in report["error"] and math.isnan(report["fitness"])
    runner.task.options.fail_mode = "raise"


def test_mutating_a_linked_gene_redraws_the_layers_of_its_group() -> None:
    """spaces/mnist1d.nas: a conv's kernel gene k1 is linked to the channel genes that own the conv's weights;
    mutating k1 alone must re-initialise those layers (it changes their shape), not fail to load them."""
    from pbtnas.compiler import compile_space
    from pbtnas.engine.mixing import close_over_links

    space = compile_space(str(Path(__file__).resolve().parents[2] / "spaces" / "mnist1d.nas"))
    names = [g.name for g in space.genes]
    k1 = names.index("classifier.conv.k1")
    assert names.index("classifier.conv.c1") in close_over_links(space.genes, [k1])
    runner = MemberRunner("pbtnas.compiler.space:CompiledSpace", space.to_json(), "classify",
                          {"data": "digits", "train_limit": 8})
    base_values = [0] * len(names)
    base_values[names.index("classifier.path")] = 1  # the conv family, so k1 is active
    child_values = list(base_values)
    child_values[k1] = 2  # kernel 3 -> 7
    base = runner.new_member(base_values, 1)
    child = runner.mutate(base, "architecture", k1, child_values, seed=5)
    model = space.build(space.validate(child_values), seed=0)
    model.load_state_dict(child["model"], strict=True)  # every tensor has the child's shape
    assert child["model"]["classifier.conv.s1.0.weight"].shape[-1] == 7
    from pbtnas.engine.statedict import keys_owned_by

    redrawn = keys_owned_by(space, close_over_links(space.genes, [k1]), list(child["model"]))
    assert "classifier.conv.s1.0.weight" in redrawn
    for key, value in child["model"].items():  # the layers outside the group are the base's, bit for bit
        if key not in redrawn:
            assert torch.equal(value, base["model"][key]), key
