"""Optimizer moments keyed by parameter name, the form ``MemberState["optim"]`` uses (docs/contracts.md).

torch optimizers key their per-parameter state by the parameter *object*, and their ``state_dict()`` by a position
in the param groups. Neither survives mixing: a child built from another genome has other parameter objects and
other positions. Keying by the model's parameter name ("generator.cell1.c0.weight") lets the engine drop the
moments of inherited layers by key and keep everything else, without knowing which optimizer the task uses.

The helpers are generic over optimizers whose per-parameter state is a flat dict of tensors (Adam, AdamW, RMSprop,
SGD with momentum, ...). Tensors are copied to the CPU on the way out and to the parameter's device on the way in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

__all__ = ["OptimStateError", "load_named_state", "named_state"]

NamedOptimState = dict[str, dict[str, Tensor]]


class OptimStateError(ValueError):
    """Moments that cannot belong to the parameters they are loaded into."""


def _name_of_params(named_params: Iterable[tuple[str, nn.Parameter]]) -> dict[int, str]:
    return {id(p): name for name, p in named_params}


def named_state(optimizer: torch.optim.Optimizer, named_params: Iterable[tuple[str, nn.Parameter]]) -> NamedOptimState:
    """The optimizer's per-parameter state as ``{parameter name: {field: tensor}}``.

    ``named_params`` names the parameters (usually ``model.named_parameters()``). Parameters without state yet
    (never stepped) are left out, which is exactly how "fresh moments" look after loading.
    """
    names = _name_of_params(named_params)
    out: NamedOptimState = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            per_param = optimizer.state.get(p)
            if not per_param:
                continue
            name = names.get(id(p))
            if name is None:
                raise OptimStateError("the optimizer holds a parameter that named_params does not name")
            fields: dict[str, Tensor] = {}
            for field, value in per_param.items():
                if not isinstance(value, Tensor):
                    # Adam keeps only tensors; a float here would not survive weights_only loading as a tensor.
                    value = torch.tensor(value)
                fields[field] = value.detach().to("cpu", copy=True)
            out[name] = fields
    return out


def load_named_state(
    optimizer: torch.optim.Optimizer,
    named_params: Iterable[tuple[str, nn.Parameter]],
    state: Mapping[str, Mapping[str, Tensor]],
) -> list[str]:
    """Put ``state`` (from :func:`named_state`, possibly with keys dropped) into ``optimizer``.

    Parameters whose name is missing from ``state`` start with fresh moments. Entries whose name is not a
    parameter of this optimizer are ignored (they belong to the other optimizer of a two-optimizer task, say).
    A moment whose shape differs from its parameter's raises :class:`OptimStateError`: the engine drops the keys of
    every layer that changed, so a mismatch means state from another network, and silently resetting it would hide
    that. Returns the names that were loaded.
    """
    loaded: list[str] = []
    by_id = {id(p): (name, p) for name, p in named_params}
    for group in optimizer.param_groups:
        for p in group["params"]:
            entry = by_id.get(id(p))
            if entry is None:
                raise OptimStateError("the optimizer holds a parameter that named_params does not name")
            name, param = entry
            fields = state.get(name)
            if fields is None:
                optimizer.state.pop(p, None)
                continue
            new: dict[str, Tensor] = {}
            for field, value in fields.items():
                if field == "step":
                    # Adam's step count is a float32 scalar tensor on the CPU unless capturable/fused is set.
                    device = param.device if (group.get("capturable") or group.get("fused")) else "cpu"
                    new[field] = value.detach().to(device=device, dtype=torch.float32).clone()
                    continue
                if value.shape != param.shape:
                    raise OptimStateError(
                        f"optimizer state {name!r}.{field} has shape {tuple(value.shape)} but the parameter has "
                        f"shape {tuple(param.shape)}; moments of a changed layer must be dropped, not loaded"
                    )
                new[field] = value.detach().to(device=param.device, dtype=param.dtype).clone()
            optimizer.state[p] = new
            loaded.append(name)
    return loaded
