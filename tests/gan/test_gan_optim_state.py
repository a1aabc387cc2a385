"""Adam moments keyed by parameter name: round trip, dropping keys, refusing mismatched shapes."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from pbtnas.tasks.optim_state import OptimStateError, load_named_state, named_state


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def _adam(model: nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.0, 0.9), eps=1e-4)


def _steps(model: nn.Module, opt: torch.optim.Optimizer, n: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(16, 4, generator=g)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_round_trip_continues_training_exactly() -> None:
    a = _net(0)
    opt_a = _adam(a)
    _steps(a, opt_a, 3, seed=1)
    moments = named_state(opt_a, a.named_parameters())
    assert set(moments) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert set(moments["0.weight"]) == {"exp_avg", "exp_avg_sq", "step"}
    assert float(moments["0.weight"]["step"]) == 3.0

    # through torch.save / weights_only loading, as member states travel
    buf = io.BytesIO()
    torch.save(moments, buf)
    buf.seek(0)
    moments = torch.load(buf, weights_only=True)

    b = _net(99)  # another object with other initial weights: the weights come from the state dict
    b.load_state_dict(a.state_dict())
    opt_b = _adam(b)
    loaded = load_named_state(opt_b, b.named_parameters(), moments)
    assert sorted(loaded) == sorted(moments)

    _steps(a, opt_a, 2, seed=2)
    _steps(b, opt_b, 2, seed=2)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0, msg=name)


def test_dropped_keys_start_fresh_and_unknown_keys_are_ignored() -> None:
    a = _net(0)
    opt = _adam(a)
    _steps(a, opt, 2, seed=1)
    moments = named_state(opt, a.named_parameters())
    del moments["2.weight"]  # the engine drops the moments of an inherited layer
    moments["other.net.weight"] = {"exp_avg": torch.zeros(3), "exp_avg_sq": torch.zeros(3), "step": torch.tensor(5.0)}

    b = _net(1)
    opt_b = _adam(b)
    loaded = load_named_state(opt_b, b.named_parameters(), moments)
    assert sorted(loaded) == ["0.bias", "0.weight", "2.bias"]
    params = dict(b.named_parameters())
    assert params["2.weight"] not in opt_b.state  # fresh: Adam initialises it at its first step
    _steps(b, opt_b, 1, seed=3)
    assert float(opt_b.state[params["2.weight"]]["step"]) == 1.0
    assert float(opt_b.state[params["0.weight"]]["step"]) == 3.0


def test_shape_mismatch_is_refused_with_the_name() -> None:
    a = _net(0)
    opt = _adam(a)
    _steps(a, opt, 1, seed=1)
    moments = named_state(opt, a.named_parameters())
    moments["0.weight"]["exp_avg"] = torch.zeros(8, 5)
    b = _net(0)
    with pytest.raises(OptimStateError, match=r"'0\.weight'\.exp_avg has shape \(8, 5\)"):
        load_named_state(_adam(b), b.named_parameters(), moments)


def test_unstepped_optimizer_has_no_state() -> None:
    a = _net(0)
    assert named_state(_adam(a), a.named_parameters()) == {}
