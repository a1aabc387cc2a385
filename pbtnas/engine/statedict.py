"""Key-wise operations on member states: shrink-perturb, ownership of keys by genes, spectral-norm vectors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

__all__ = [
    "ShrinkPerturb",
    "SpaceLike",
    "keys_owned_by",
    "renormalize_sn",
    "shrink_perturb_tensor",
]

SN_SUFFIXES = ("sn_u", "sn_v")


class SpaceLike(Protocol):
    """The part of ``pbtnas.compiler.CompiledSpace`` the engine's weight operations use."""

    genes: tuple[Any, ...]

    def owned_keys(self, i: int, keys: Iterable[str]) -> list[str]: ...

    def build(self, genome: Any, seed: int = ...) -> Any: ...


@dataclass(frozen=True)
class ShrinkPerturb:
    """new = shrink * donor + perturb * fresh. (0.4, 0.1) is the paper's; (1, 0) copies; (0, 1) re-initialises."""

    shrink: float = 0.4
    perturb: float = 0.1

    @classmethod
    def parse(cls, text: str) -> ShrinkPerturb:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2:
            raise ValueError(f"shrink-perturb must be 'LAMBDA,GAMMA', got {text!r}")
        return cls(float(parts[0]), float(parts[1]))

    def __str__(self) -> str:
        return f"{self.shrink:g},{self.perturb:g}"


def shrink_perturb_tensor(donor: Tensor, fresh: Tensor, sp: ShrinkPerturb) -> Tensor:
    """One tensor of an inherited layer. Integer tensors (BatchNorm's ``num_batches_tracked``) are copied."""
    if donor.shape != fresh.shape:
        raise ValueError(f"shape mismatch {tuple(donor.shape)} vs {tuple(fresh.shape)}")
    if not torch.is_floating_point(donor):
        return donor.clone()
    # The two pure cases are exact (no 1.0 * x + 0.0 * y rounding, no NaN leaking in from an unused operand).
    if sp.shrink == 1.0 and sp.perturb == 0.0:
        return donor.clone()
    if sp.shrink == 0.0 and sp.perturb == 1.0:
        return fresh.to(donor.dtype).clone()
    return donor * sp.shrink + fresh.to(donor.dtype) * sp.perturb


def keys_owned_by(space: SpaceLike, genes: Iterable[int], keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    owned: set[str] = set()
    for i in genes:
        owned.update(space.owned_keys(i, keys))
    return owned


def renormalize_sn(state: dict[str, Tensor], keys: Iterable[str] | None = None) -> None:
    """Rescale spectral-norm vectors (``…sn_u``/``…sn_v``) to unit length, in place.

    Shrink-perturb scales them by about 0.4 (the authors' code does not renormalise them); SN layers in eval mode use u and v as they are,
    so unnormalised vectors would inflate sigma's estimate on the child's first forward pass. Uses
    ``pbtnas.layers.renormalize_state`` when the op library provides it, so both agree on the naming.
    """
    selected = {k: state[k] for k in (keys if keys is not None else state) if k.endswith(SN_SUFFIXES)}
    if not selected:
        return
    try:
        from pbtnas.layers import renormalize_state  # type: ignore[attr-defined]
    except ImportError:
        renormalize_state = None
    if renormalize_state is not None:
        out = renormalize_state(selected)
        state.update(out if isinstance(out, dict) else selected)
        return
    for k, v in selected.items():
        norm = v.norm()
        state[k] = v / norm if float(norm) > 0 else v
