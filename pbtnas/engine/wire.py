"""Member states on the wire: between the driver and the actors, tensors travel through Ray as numpy arrays.

Ray writes numpy arrays into its object store out of band and a reader maps them without a copy, while a torch
tensor goes through torch's own pickling (a full serialisation on both sides). For a full-width GanHard member
(303 MB with its EMA shadow and Adam moments) a round trip through a Ray task took a median 0.23 s as numpy and
2.62 s as tensors over five runs on the shared 2-core machine (`benchmarks/engine.py --repeat 5`, in
benchmarks/results/engine.json). The states keep their structure (the
``MemberState`` contract: tensors and JSON-able containers), so an ``ndarray`` on the wire is always a tensor that
was converted, and converting back is exact (same dtype, shape and values).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

__all__ = ["from_wire", "to_wire"]

# dtypes numpy has no equivalent for travel as tensors (torch's pickling), which is slower but exact
_NO_NUMPY = {torch.bfloat16, torch.complex32} | {
    getattr(torch, name)
    for name in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64")
    if hasattr(torch, name)
}


def to_wire(obj: Any) -> Any:
    """Tensors (on any device) -> numpy arrays; containers keep their shape; everything else is left as it is."""
    if isinstance(obj, torch.Tensor):
        if obj.dtype in _NO_NUMPY or obj.is_sparse:
            return obj.detach().cpu()
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: to_wire(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_wire(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_wire(v) for v in obj)
    return obj


def from_wire(obj: Any, writable: bool = True) -> Any:
    """numpy arrays -> CPU tensors. Arrays read from Ray's object store are read-only views of shared memory:
    ``writable=True`` copies them (a task trains the tensors in place, e.g. optimizer moments); ``writable=False``
    wraps them without a copy, for a caller that only reads (the driver saving a checkpoint)."""
    if isinstance(obj, np.ndarray):
        if writable:
            return torch.from_numpy(np.array(obj, copy=True))
        if obj.flags.writeable:
            return torch.from_numpy(obj)
        with warnings.catch_warnings():  # torch warns that writing would be undefined: this caller never writes
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(obj)
    if isinstance(obj, dict):
        return {k: from_wire(v, writable) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_wire(v, writable) for v in obj]
    if isinstance(obj, tuple):
        return tuple(from_wire(v, writable) for v in obj)
    return obj
