"""Spectral norm as the RL reference code has it (torch.nn.utils.parametrizations.spectral_norm: u from v, then v
from u, 15 warm-up iterations), while the GAN spaces keep the hook order (torch.nn.utils.spectral_norm)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as torch_param_sn

from pbtnas.compiler import compile_space
from pbtnas.layers.modules import SNConv2d, SNLinear

SPACES = Path(__file__).resolve().parents[2] / "spaces"


def _torch_twin(seed: int) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    """torch's parametrized linear, and the random start vectors it drew before its warm-up."""
    torch.manual_seed(seed)
    plain = nn.Linear(7, 5)
    weight = plain.weight.detach().clone()
    state = torch.get_rng_state()
    u0 = F.normalize(weight.new_empty(5).normal_(0, 1), dim=0, eps=1e-12)  # what _SpectralNorm.__init__ draws
    v0 = F.normalize(weight.new_empty(7).normal_(0, 1), dim=0, eps=1e-12)
    torch.set_rng_state(state)
    return torch_param_sn(plain), u0, v0


def test_parametrization_style_is_torchs_parametrization_spectral_norm() -> None:
    ref, u0, v0 = _torch_twin(seed=4)
    ours = SNLinear(7, 5, sn=True, sn_style="parametrization")  # warm-up: 15 + the one of torch's registration
    with torch.no_grad():
        ours.weight.copy_(ref.parametrizations.weight.original)
        ours.bias.copy_(ref.bias)
        ours.sn_u.copy_(u0)
        ours.sn_v.copy_(v0)
    ours.warm_up_sn()
    sn = ref.parametrizations.weight[0]
    torch.testing.assert_close(ours.sn_u, sn._u, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.sn_v, sn._v, rtol=0, atol=1e-6)
    x = torch.randn(3, 7)
    for training in (True, True, False):  # two power iterations, then an eval forward that leaves u, v alone
        ours.train(training)
        ref.train(training)
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-6)
        torch.testing.assert_close(ours.sn_u, sn._u, rtol=0, atol=1e-6)
        torch.testing.assert_close(ours.sn_v, sn._v, rtol=0, atol=1e-6)


def test_switched_off_layer_warms_up_like_the_reference_wrapper() -> None:
    # The reference's wrapper is torch's _SpectralNorm (15 iterations when made) whose forward returns the weight
    # unchanged when off, so registering it adds no iteration.
    from torch.nn.utils.parametrizations import _SpectralNorm

    torch.manual_seed(9)
    weight = torch.randn(5, 7)
    state = torch.get_rng_state()
    u0 = F.normalize(weight.new_empty(5).normal_(0, 1), dim=0, eps=1e-12)
    v0 = F.normalize(weight.new_empty(7).normal_(0, 1), dim=0, eps=1e-12)
    torch.set_rng_state(state)
    ref = _SpectralNorm(weight)
    ours = SNLinear(7, 5, sn=False, sn_style="parametrization")
    with torch.no_grad():
        ours.weight.copy_(weight)
        ours.sn_u.copy_(u0)
        ours.sn_v.copy_(v0)
    ours.warm_up_sn()
    torch.testing.assert_close(ours.sn_u, ref._u, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.sn_v, ref._v, rtol=0, atol=1e-6)


def test_hook_style_keeps_the_old_order_and_no_warm_up() -> None:
    torch.manual_seed(0)
    layer = SNConv2d(3, 4, 3, sn=True)  # the default style: what the GAN spaces use
    u, v = layer.sn_u.clone(), layer.sn_v.clone()
    layer.warm_up_sn()
    assert torch.equal(layer.sn_u, u) and torch.equal(layer.sn_v, v)
    w = layer.weight.detach().reshape(4, -1)
    layer.train()(torch.randn(1, 3, 8, 8))
    v1 = F.normalize(w.t().mv(u), dim=0, eps=1e-12)
    torch.testing.assert_close(layer.sn_v, v1, rtol=0, atol=1e-6)
    torch.testing.assert_close(layer.sn_u, F.normalize(w.mv(v1), dim=0, eps=1e-12), rtol=0, atol=1e-6)


def _sn_layers(model: nn.Module) -> list[SNLinear | SNConv2d]:
    return [m for m in model.modules() if isinstance(m, (SNLinear, SNConv2d))]


def test_drqv2_spaces_build_warmed_up_parametrization_layers() -> None:
    # The warm-up runs after the orthogonal initialisation, so v is the last half-step on the weights the layer
    # starts with: v = normalize(W^T u) (random start vectors satisfy this with probability 0).
    for name, overrides in (("drqv2", {"hidden": "32", "filters": "4", "obs_size": "32"}), ("drqv2_state", {})):
        space = compile_space(SPACES / f"{name}.nas", overrides)
        model = space.build(space.random_genome(np.random.default_rng(1)), seed=0)
        layers = _sn_layers(model)
        assert layers and all(m.sn_style == "parametrization" for m in layers)
        for m in layers:
            w = m.weight.detach().reshape(m.weight.shape[0], -1)
            torch.testing.assert_close(m.sn_v, F.normalize(w.t().mv(m.sn_u), dim=0, eps=1e-12), rtol=0, atol=1e-5)
        again = space.build(space.random_genome(np.random.default_rng(1)), seed=0)
        for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
            assert torch.equal(a, b)  # the warm-up draws no random numbers: a seed still fixes every tensor


def test_gan_space_keeps_the_hook_style() -> None:
    space = compile_space(SPACES / "gan.nas", {"gf_dim": "16", "df_dim": "16"})
    model = space.build(space.random_genome(np.random.default_rng(0)), seed=0)
    layers = _sn_layers(model)
    assert layers and all(m.sn_style == "hook" for m in layers)
