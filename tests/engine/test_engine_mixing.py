"""Mixing by gene ownership, shrink-perturb arithmetic, state handling (moments, shadows, BN, spectral norm)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_double import DoubleGene, DoubleGenome, DoubleSpace

from pbtnas.engine.mixing import MixError, close_over_links, draw_inherited, mix_states, replace_layers
from pbtnas.engine.statedict import ShrinkPerturb, shrink_perturb_tensor
from pbtnas.tasks.base import MemberState

SPACE = DoubleSpace(n_layers=3, width=8)
# genes: 0 layer0.op, 1 layer0.act, 2 layer1.op, 3 layer1.act, 4 layer2.op, 5 layer2.act
# ops: 0 skip, 1 linear, 2 linear_bn, 3 linear_sn
BASE = (1, 0, 2, 0, 3, 1)
DONOR = (3, 1, 1, 0, 2, 0)


def trained_like_state(values: tuple[int, ...], seed: int) -> MemberState:
    """A state as a task would hold it: weights, BN statistics, moments for every parameter, an EMA shadow."""
    model = SPACE.build(DoubleGenome(values), seed=seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    sd = {}
    for k, v in model.state_dict().items():
        if k.endswith("running_var"):
            sd[k] = torch.rand(v.shape, generator=gen) + 0.5
        elif k.endswith("num_batches_tracked"):
            sd[k] = torch.tensor(seed + 7)
        elif k.endswith(("sn_u", "sn_v")):
            sd[k] = v.clone()
        else:
            sd[k] = torch.randn(v.shape, generator=gen)
    params = dict(model.named_parameters())
    optim = {
        k: {"exp_avg": torch.randn(p.shape, generator=gen), "exp_avg_sq": torch.rand(p.shape, generator=gen),
            "step": torch.tensor(float(seed))}
        for k, p in params.items()
    }
    ema = {k: torch.randn(sd[k].shape, generator=gen) for k in params}
    return {"model": sd, "shadows": {"ema": ema}, "optim": optim, "meta": {"who": seed}}


def child_of(inherited: tuple[int, ...], sp: ShrinkPerturb = ShrinkPerturb()) -> tuple[MemberState, dict, tuple]:
    base, donor = trained_like_state(BASE, 1), trained_like_state(DONOR, 2)
    child_values = tuple(DONOR[i] if i in inherited else BASE[i] for i in range(len(BASE)))
    fresh = SPACE.build(DoubleGenome(child_values), seed=99).state_dict()
    child = mix_states(SPACE, base, donor, fresh, inherited, sp)
    return child, {"base": base, "donor": donor, "fresh": fresh}, child_values


def test_unchanged_layers_are_bit_identical_to_the_base_and_inherited_ones_are_shrink_perturbed() -> None:
    child, src, values = child_of((0, 1))  # layer0.op (linear -> linear_sn) and layer0.act from the donor
    base, donor, fresh = src["base"], src["donor"], src["fresh"]
    assert set(child["model"]) == set(fresh)  # exactly the child's keys: loads strictly
    SPACE.build(DoubleGenome(values)).load_state_dict(child["model"], strict=True)
    for key, value in child["model"].items():
        if key.startswith("classifier.layer0.op."):
            if key.endswith(("sn_u", "sn_v")):
                continue
            expected = donor["model"][key] * 0.4 + fresh[key] * 0.1
            assert torch.equal(value, expected), key
        else:
            assert torch.equal(value, base["model"][key]), key  # stem, head, layers 1-2 untouched
    assert any(k.startswith("classifier.layer0.op.") for k in child["model"])


def test_sn_vectors_are_shrink_perturbed_then_unit_length() -> None:
    child, src, _ = child_of((0,))
    for name in ("sn_u", "sn_v"):
        key = f"classifier.layer0.op.{name}"
        raw = src["donor"]["model"][key] * 0.4 + src["fresh"][key] * 0.1
        assert torch.allclose(child["model"][key], raw / raw.norm(), atol=1e-7)
        assert abs(float(child["model"][key].norm()) - 1.0) < 1e-6


def test_batchnorm_statistics_follow_the_layer() -> None:
    child, src, _ = child_of((4,))  # layer2.op: linear_sn -> linear_bn (donor)
    donor, fresh = src["donor"]["model"], src["fresh"]
    for stat in ("running_mean", "running_var"):
        key = f"classifier.layer2.op.bn.{stat}"
        assert torch.equal(child["model"][key], donor[key] * 0.4 + fresh[key] * 0.1)
    assert bool((child["model"]["classifier.layer2.op.bn.running_var"] > 0).all())
    assert int(child["model"]["classifier.layer2.op.bn.num_batches_tracked"]) == 2 + 7  # the donor's, unscaled


def test_optimizer_moments_kept_for_base_layers_and_dropped_for_inherited_keys() -> None:
    child, src, _ = child_of((2,))  # layer1.op: linear_bn -> linear (same key names for .lin.*)
    base = src["base"]
    inherited_keys = {k for k in child["model"] if k.startswith("classifier.layer1.op.")}
    assert "classifier.layer1.op.lin.weight" in inherited_keys
    assert not inherited_keys & set(child["optim"])  # fresh moments even where the name and shape coincide
    params = {k for k in child["model"] if not k.endswith(("running_mean", "running_var", "num_batches_tracked",
                                                               "sn_u", "sn_v"))}
    assert set(child["optim"]) == params - inherited_keys
    for k, fields in child["optim"].items():
        for f, t in fields.items():
            assert torch.equal(t, base["optim"][k][f])


def test_shadows_are_copied_from_the_donor_without_perturbation() -> None:
    child, src, _ = child_of((0, 4))
    base_ema, donor_ema = src["base"]["shadows"]["ema"], src["donor"]["shadows"]["ema"]
    ema = child["shadows"]["ema"]
    for k, v in ema.items():
        if k.startswith(("classifier.layer0.op.", "classifier.layer2.op.")):
            assert torch.equal(v, donor_ema[k]), k
        else:
            assert torch.equal(v, base_ema[k]), k
    assert "classifier.layer2.op.bn.weight" in ema and "classifier.layer0.op.lin.weight" in ema
    assert not any(k.startswith("classifier.layer2.op.") and k not in donor_ema for k in ema)


@pytest.mark.parametrize(("sp", "expect"), [((1.0, 0.0), "donor"), ((0.0, 1.0), "fresh")])
def test_pure_copy_and_pure_reinit(sp: tuple[float, float], expect: str) -> None:
    child, src, _ = child_of((0, 2, 4), ShrinkPerturb(*sp))
    reference = src["donor"]["model"] if expect == "donor" else src["fresh"]
    for key, value in child["model"].items():
        if key.startswith(("classifier.layer0.op.", "classifier.layer1.op.", "classifier.layer2.op.")):
            if key.endswith("num_batches_tracked"):
                assert torch.equal(value, src["donor"]["model"][key])
            else:
                assert torch.equal(value, reference[key]), key


def test_shrink_perturb_tensor_arithmetic() -> None:
    donor = torch.tensor([1.0, -2.0, 0.5])
    fresh = torch.tensor([10.0, 20.0, -30.0])
    assert torch.equal(shrink_perturb_tensor(donor, fresh, ShrinkPerturb(0.4, 0.1)), donor * 0.4 + fresh * 0.1)
    assert torch.allclose(shrink_perturb_tensor(donor, fresh, ShrinkPerturb()), torch.tensor([1.4, 1.2, -2.8]))
    counter = torch.tensor(5)
    assert torch.equal(shrink_perturb_tensor(counter, torch.tensor(0), ShrinkPerturb()), counter)
    with pytest.raises(ValueError):
        shrink_perturb_tensor(donor, torch.zeros(4), ShrinkPerturb())
    assert ShrinkPerturb.parse(" 0.4, 0.1") == ShrinkPerturb(0.4, 0.1)


def test_mix_with_self_keeps_the_genome_and_perturbs_the_drawn_layers() -> None:
    base = trained_like_state(BASE, 1)
    fresh = SPACE.build(DoubleGenome(BASE), seed=5).state_dict()
    child = mix_states(SPACE, base, base, fresh, (2,), ShrinkPerturb())
    key = "classifier.layer1.op.lin.weight"
    assert torch.equal(child["model"][key], base["model"][key] * 0.4 + fresh[key] * 0.1)
    assert torch.equal(child["model"]["classifier.stem.weight"], base["model"]["classifier.stem.weight"])


def test_a_shape_conflict_is_an_error_not_a_silent_merge() -> None:
    wide = DoubleSpace(n_layers=3, width=12)
    base = trained_like_state(BASE, 1)
    fresh = wide.build(DoubleGenome(BASE), seed=0).state_dict()
    with pytest.raises(MixError, match="shape"):
        mix_states(SPACE, base, base, fresh, (0,), ShrinkPerturb())


def test_draws_and_linked_genes() -> None:
    genes = [DoubleGene(i, f"g{i}", ("a", "b"), True, (f"g{i}.",), linked=(2,) if i == 0 else ()) for i in range(4)]
    assert close_over_links(genes, [0]) == (0, 2)
    rng = np.random.default_rng(0)
    base, donor = (0, 0, 0, 0), (1, 1, 1, 1)
    assert draw_inherited(rng, genes, base, donor, 0.0).inherited == ()
    assert draw_inherited(rng, genes, base, donor, 1.0).child_genome == donor
    plans = [draw_inherited(np.random.default_rng(s), SPACE.genes, BASE, DONOR, 0.25) for s in range(400)]
    share = sum(len(p.inherited) for p in plans) / (400 * len(SPACE.genes))
    assert 0.21 < share < 0.29
    for p in plans:
        assert p.child_genome == tuple(DONOR[i] if i in p.inherited else BASE[i] for i in range(len(BASE)))


def test_replace_layers_gives_fresh_weights_and_fresh_moments() -> None:
    base = trained_like_state(BASE, 1)
    values = (0, 0, 2, 0, 3, 1)  # layer0.op mutated linear -> skip: its keys disappear
    fresh = SPACE.build(DoubleGenome(values), seed=3).state_dict()
    child = replace_layers(SPACE, base, fresh, [0])
    assert not any(k.startswith("classifier.layer0.op.") for k in child["model"])
    values = (2, 0, 2, 0, 3, 1)  # linear -> linear_bn: fresh init of the new layer, in the EMA too
    fresh = SPACE.build(DoubleGenome(values), seed=3).state_dict()
    child = replace_layers(SPACE, base, fresh, [0])
    key = "classifier.layer0.op.lin.weight"
    assert torch.equal(child["model"][key], fresh[key])
    assert torch.equal(child["shadows"]["ema"][key], fresh[key])
    assert key not in child["optim"]
    assert torch.equal(child["model"]["classifier.head.weight"], base["model"]["classifier.head.weight"])
