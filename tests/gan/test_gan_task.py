"""GanTask against a tiny test double of a GAN space: member state layout, training semantics, EMA, resume,
engine-style mixing of the state, divergence and fitness."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from gan_fakes import FakeGenome, FakeSpace

from pbtnas.tasks.base import MemberFailed
from pbtnas.tasks.gan import GanOptions, GanTask
from pbtnas.tasks.registry import get_task

G0, G1 = FakeGenome((0,)), FakeGenome((1,))


def _task(cache: Path, **overrides: object) -> GanTask:
    values: dict[str, object] = {"max_train_images": 96, "d_batch_size": 16, "fid_images": 200, "cache_dir": cache,
                                 "device": "cpu", **overrides}
    return GanTask(FakeSpace(), GanOptions.from_preset("tiny", **values), None)


def _roundtrip(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_registered_as_gan() -> None:
    assert get_task("gan") is GanTask


def test_new_member_layout(gan_cache: Path) -> None:
    task = _task(gan_cache)
    state = task.new_member(G1, seed=5)
    model = FakeSpace().build(G1, 5)
    assert state["model"].keys() == model.state_dict().keys()
    gen_params = {f"generator.{n}" for n, _ in model.generator.named_parameters()}
    assert set(state["shadows"]["ema"]) == gen_params  # parameters only: no BatchNorm buffers
    assert not any(k.startswith("discriminator.") for k in state["shadows"]["ema"])
    for k, v in state["shadows"]["ema"].items():
        assert torch.equal(v, state["model"][k])
    assert state["optim"] == {}
    assert state["meta"]["epochs_done"] == 0 and state["meta"]["fitness_metric"] == "-digits-FID"
    _roundtrip(state)  # plain tensors and JSON-able metadata only


def test_train_counts_steps_and_keys_moments_by_name(gan_cache: Path) -> None:
    task = _task(gan_cache)
    state = task.new_member(G1, seed=0)
    new, metrics = task.train(state, G1, 0, 2, seed=1)
    # 96 images / D batch 16 = 6 D steps per epoch; G steps at iterations 0 and 5 -> 2 per epoch
    assert metrics["d_steps"] == 12 and metrics["g_steps"] == 4
    assert new["meta"] == {"epochs_done": 2, "d_steps": 12, "g_steps": 4, "fitness_metric": "-digits-FID"}
    params = dict(FakeSpace().build(G1, 0).named_parameters())
    assert set(new["optim"]) == set(params)
    for name, fields in new["optim"].items():
        assert fields["exp_avg"].shape == params[name].shape
        assert float(fields["step"]) == (4.0 if name.startswith("generator.") else 12.0)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    changed = [k for k in state["model"] if not torch.equal(state["model"][k], new["model"][k])]
    assert any(k.startswith("generator.") for k in changed) and any(k.startswith("discriminator.") for k in changed)
    # the input state is not modified
    assert torch.equal(state["model"]["generator.proj.weight"], task.new_member(G1, seed=0)["model"]["generator.proj.weight"])
    _roundtrip(new)


def test_ema_follows_the_formula_on_parameters_only(gan_cache: Path) -> None:
    # decay 0: the EMA is the last generator parameters; decay 1 - 1e-9: it stays at the initial parameters
    task = _task(gan_cache, ema_decay=0.0)
    state = task.new_member(G0, seed=0)
    new, _ = task.train(state, G0, 0, 1, seed=0)
    for k, v in new["shadows"]["ema"].items():
        torch.testing.assert_close(v, new["model"][k])
    task = _task(gan_cache, ema_decay=1 - 1e-9)
    new, _ = task.train(state, G0, 0, 1, seed=0)
    for k, v in new["shadows"]["ema"].items():
        torch.testing.assert_close(v, state["model"][k])
        assert not torch.equal(new["model"][k], state["model"][k])
    # final_module: EMA parameters, the *training* BatchNorm statistics, eval mode
    gen = task.final_generator(new, G0)
    assert not gen.training
    sd = gen.state_dict()
    torch.testing.assert_close(sd["proj.weight"], state["model"]["generator.proj.weight"])
    assert torch.equal(sd["to_rgb.0.running_mean"], new["model"]["generator.to_rgb.0.running_mean"])
    assert not torch.equal(sd["to_rgb.0.running_mean"], state["model"]["generator.to_rgb.0.running_mean"])


def test_resume_equals_one_run_and_training_is_deterministic(gan_cache: Path) -> None:
    task = GanTask(FakeSpace(dropout=0.2), GanOptions.from_preset(
        "tiny", max_train_images=64, d_batch_size=16, cache_dir=gan_cache, device="cpu"), None)
    state = task.new_member(G1, seed=3)
    whole, _ = task.train(state, G1, 0, 2, seed=7)
    first, _ = task.train(state, G1, 0, 1, seed=7)
    split, _ = task.train(_roundtrip(first), G1, 1, 2, seed=7)
    for part in ("model",):
        for k in whole[part]:
            torch.testing.assert_close(split[part][k], whole[part][k], rtol=0, atol=0, msg=k)
    for k in whole["shadows"]["ema"]:
        torch.testing.assert_close(split["shadows"]["ema"][k], whole["shadows"]["ema"][k], rtol=0, atol=0)
    for k in whole["optim"]:
        for f in whole["optim"][k]:
            torch.testing.assert_close(split["optim"][k][f], whole["optim"][k][f], rtol=0, atol=0)
    other, _ = task.train(state, G1, 0, 2, seed=8)
    assert not torch.equal(other["model"]["generator.proj.weight"], whole["model"]["generator.proj.weight"])


def test_engine_style_mixing_keeps_working(gan_cache: Path) -> None:
    """What the engine does to a child: inherited layers get donor weights and EMA, their moments dropped."""
    task = _task(gan_cache)
    base, _ = task.train(task.new_member(G0, seed=0), G0, 0, 1, seed=0)
    donor, _ = task.train(task.new_member(G1, seed=1), G1, 0, 1, seed=1)
    inherited = [k for k in donor["model"] if k.startswith("generator.cell1.")]  # the gene changes shapes
    child = {
        "model": {**base["model"], **{k: donor["model"][k] for k in inherited}},
        "shadows": {"ema": {**base["shadows"]["ema"], **{k: donor["shadows"]["ema"][k] for k in inherited}}},
        "optim": {k: v for k, v in base["optim"].items() if k not in inherited},
        "meta": dict(base["meta"]),
    }
    trained, _ = task.train(child, G1, 1, 2, seed=2)
    assert float(trained["optim"]["generator.cell1.2.weight"]["step"]) == 2.0  # fresh moments: 2 G steps
    assert float(trained["optim"]["generator.proj.weight"]["step"]) == 4.0  # kept moments: 2 + 2
    # moments that do not fit (a bug upstream) are refused, not silently reset
    bad = {**child, "optim": {**child["optim"], "generator.cell1.2.weight": base["optim"]["generator.cell1.2.weight"]}}
    with pytest.raises(ValueError, match=r"generator\.cell1\.2\.weight.*shape"):
        task.train(bad, G1, 1, 2, seed=2)
    # a generator parameter without a shadow (a mutation's new layer) starts its average at the parameter
    no_shadow = {**child, "shadows": {"ema": {k: v for k, v in child["shadows"]["ema"].items() if k not in inherited}}}
    trained, _ = task.train(no_shadow, G1, 1, 2, seed=2)
    assert set(trained["shadows"]["ema"]) == set(child["shadows"]["ema"])


def test_divergence_raises_member_failed(gan_cache: Path) -> None:
    task = _task(gan_cache)
    state = task.new_member(G0, seed=0)
    state["model"]["discriminator.head.weight"] = torch.full_like(state["model"]["discriminator.head.weight"],
                                                                 float("nan"))
    with pytest.raises(MemberFailed, match="diverged.*non-finite d_loss"):
        task.train(state, G0, 0, 1, seed=0)


def test_fitness_is_minus_digits_fid_and_reproducible(gan_cache: Path) -> None:
    task = _task(gan_cache)
    state = task.new_member(G1, seed=0)
    f1 = task.evaluate(state, G1, seed=0)
    f2 = task.evaluate(state, G1, seed=0)
    f3 = task.evaluate(state, G1, seed=1)
    assert f1 < 0 and f1 == f2 and f1 != f3
    assert task.fid_name == "digits-FID"
    assert -f1 == pytest.approx(task.fid(task.final_generator(state, G1), 200, seed=0))


def test_bad_space_or_options_are_explained(gan_cache: Path) -> None:
    space = FakeSpace()
    space.constants.pop("latent_dim")
    with pytest.raises(ValueError, match="needs the constant 'latent_dim'"):
        GanTask(space, GanOptions.from_preset("tiny", cache_dir=gan_cache), None)
    with pytest.raises(ValueError, match="unknown GAN preset 'huge'"):
        GanOptions.from_preset("huge")
    with pytest.raises(ValueError, match="digits-FID"):
        GanOptions(data="digits", fid_features="inception")
    paper = GanOptions.from_preset("paper", data="stl10", data_root=".")
    assert (paper.d_batch, paper.g_batch, paper.population, paper.epochs, paper.e_step) == (128, 256, 24, 300, 10)
    # the user's values win over the preset's; a dump validates back to the same options (the engine does that)
    mine = GanOptions(preset="paper", data="stl10", data_root=".", d_batch_size=64, ema_decay=0.99)
    assert (mine.d_batch, mine.g_batch, mine.ema_decay, mine.lr) == (64, 128, 0.99, 2e-4)
    assert GanOptions.model_validate(mine.model_dump(mode="json")) == mine
    tiny = GanOptions(preset="tiny")
    assert (tiny.data, tiny.d_batch, tiny.population) == ("digits", 32, 8)
    cifar = GanOptions.from_preset("paper", data_root=".")
    assert (cifar.d_batch, cifar.g_batch, cifar.lr, cifar.betas, cifar.eps, cifar.ema_decay, cifar.n_critic,
            cifar.fid_images) == (40, 80, 2e-4, (0.0, 0.9), 1e-4, 0.999, 5, 5000)


def test_hinge_losses_by_hand() -> None:
    from pbtnas.tasks.gan.training import hinge_d_loss, hinge_g_loss

    real, fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-3.0], [0.0]])
    # real: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake: relu(1-3)=0, relu(1+0)=1 -> 0.5
    assert float(hinge_d_loss(real, fake)) == pytest.approx(0.75)
    assert float(hinge_g_loss(fake)) == pytest.approx(1.5)
