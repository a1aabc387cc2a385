"""The wire format of member states (pbtnas.engine.wire): exact round trips, and writable tensors in the actors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pbtnas.engine.wire import from_wire, to_wire


def state() -> dict:
    return {
        "model": {"w": torch.randn(3, 4), "b": torch.arange(5, dtype=torch.int64), "flag": torch.tensor(True)},
        "shadows": {"ema": {"w": torch.randn(3, 4, dtype=torch.float64)}},
        "optim": {"w": {"exp_avg": torch.zeros(3, 4), "step": torch.tensor(7.0)}, "h": {"m": torch.ones(2).half()}},
        "meta": {"epoch": 3, "names": ["a", "b"], "pair": (1, 2.5), "none": None},
        "bf16": torch.randn(4).to(torch.bfloat16),
    }


def assert_same(a: object, b: object) -> None:
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


def test_round_trip_is_exact_for_every_dtype_and_container() -> None:
    s = state()
    wire = to_wire(s)
    assert isinstance(wire["model"]["w"], np.ndarray) and wire["model"]["w"].dtype == np.float32
    assert isinstance(wire["bf16"], torch.Tensor)  # numpy has no bfloat16: it stays a tensor
    assert_same(from_wire(wire), s)
    assert_same(from_wire(wire, writable=False), s)


def test_read_only_arrays_become_independent_writable_tensors() -> None:
    arr = np.arange(6, dtype=np.float32)
    arr.flags.writeable = False  # what a reader of Ray's object store gets
    t = from_wire({"x": arr})["x"]
    t += 1  # a task trains in place (optimizer moments): must not touch the shared buffer
    assert arr.tolist() == [0, 1, 2, 3, 4, 5] and t.tolist() == [1, 2, 3, 4, 5, 6]
    view = from_wire(arr, writable=False)
    assert view.data_ptr() == arr.__array_interface__["data"][0]  # no copy for a reader


def test_gradients_and_devices_are_dropped_on_the_wire() -> None:
    w = torch.randn(2, 2, requires_grad=True)
    back = from_wire(to_wire({"w": w * 2}))["w"]
    assert not back.requires_grad and back.device.type == "cpu"


@pytest.mark.usefixtures("ray_session")
def test_a_state_through_the_object_store_is_exact() -> None:
    import ray

    s = state()
    got = ray.get(ray.put(to_wire(s)))
    assert not got["model"]["w"].flags.writeable  # zero-copy view of the store
    assert_same(from_wire(got), s)
