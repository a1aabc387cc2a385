"""Elementwise products of two tensors: the runtime rule behind `a * b` (gating, squeeze-and-excitation).

Shapes exclude the batch dimension, so a channel gate is [C] and a feature map [C, H, W]; the gate must meet the map
on its *first* dimension. The rule is therefore leading-dimension alignment, not numpy's trailing one (which would
pair C with W): see `broadcast_shape`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbtnas.layers.dims import Dim, shape_str
from pbtnas.layers.ops import Shape, ShapeError

if TYPE_CHECKING:  # the shape rule is the compiler's (torch-free); `multiply` runs on tensors the builder passes
    import torch


def broadcast_shape(a: Shape, b: Shape) -> Shape:
    """The shape of `a * b`, or ShapeError.

    Rule (leading alignment): the shorter shape is matched against the first dimensions of the longer one; the
    longer one's remaining dimensions are kept. Each matched pair must be provably equal (the same symbolic
    polynomial), or one of them the constant 1, which stretches to the other. So [C] * [C, H, W] = [C, H, W]
    (one weight per channel, the same at every pixel), [C, 1, 1] * [C, H, W] = [C, H, W], [F] * [F] = [F],
    and [W] * [C, H, W] is refused unless W and C are the same dimension. A scalar [] multiplies anything.
    The product is symmetric: broadcast_shape(a, b) == broadcast_shape(b, a).
    """
    long, short = (a, b) if len(a) >= len(b) else (b, a)
    out: list[Dim] = []
    for i, x in enumerate(long):
        if i >= len(short):
            out.append(x)
            continue
        y = short[i]
        if x == y or _is_one(y):
            out.append(x)
        elif _is_one(x):
            out.append(y)
        else:
            raise ShapeError(
                f"cannot multiply {shape_str(a)} by {shape_str(b)}: dimension {i + 1} is {x} against {y}",
                "shapes align on their first dimension (a [C] gate scales the channels of [C, H, W]); the aligned "
                "sizes must be equal or 1")
    return tuple(out)


def _is_one(d: Dim) -> bool:
    return d.is_const and d.value == 1


def multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a * b` for batched tensors under `broadcast_shape`'s rule: the lower-rank operand gets trailing singleton
    dimensions so that torch's own (trailing) broadcasting lines it up with the other's leading dimensions."""
    if a.dim() < b.dim():
        a = a.reshape(*a.shape, *([1] * (b.dim() - a.dim())))
    elif b.dim() < a.dim():
        b = b.reshape(*b.shape, *([1] * (a.dim() - b.dim())))
    return a * b
