"""Integer op arguments computed from genes: `conv(C * e, k=k, pad=(k - 1) // 2, groups=C * e)`.

An `int` argument (a kernel size, a stride, a padding, a group count) may be any exact expression over constants
and integer genes. It stays a symbolic `Dim` through the shape rules, so the output shape is proven for every
option, and the builder substitutes the genome's values (the artifact stores it as `{"dim": ...}`). Here it is
validated at every option of the genes it reads: a whole number, at least the argument's lowest valid value, and
no larger than a machine int, else one diagnostic naming the first option that breaks it.
"""

from __future__ import annotations

from typing import Any, Callable

from pbtnas.dsl.diagnostics import Span
from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, DimError

MAX_INT = 2**31 - 1

# The lowest valid value of an integer argument, by name; a pool's `stride=0` means "the kernel size" and is only
# meaningful as the literal default, so a computed stride must be at least 1 like a conv's.
_LOWEST = {"k": 1, "stride": 1, "dilation": 1, "groups": 1, "pad": 0, "output_pad": 0, "heads": 1, "patch": 1}


_POOLS = frozenset({"avg_pool", "max_pool", "avg_pool1d", "max_pool1d"})


def lowest(arg: str, op: str = "", constant: bool = False) -> int:
    if constant and arg == "stride" and op in _POOLS:
        return 0  # the written `stride=0` of a pool is its documented "same as k"
    return _LOWEST.get(arg, 0)


def check_constant(value: int, arg: str, op: str, where: str, span: Span, error: Callable[..., None]) -> bool:
    """A constant argument below its lowest value (`pad=-1`, `k=0`) is refused here, not in torch."""
    low = lowest(arg, op, constant=True)
    if value >= low:
        return True
    error("E0106", f"{where} is {value}: less than {low}", span, expected=f"an integer of at least {low}",
          found=str(value), hint="check the constants it is computed from (and any `--set`)")
    return False


def coerce(v: Any) -> Dim | None:
    """A gene-dependent integer expression as the argument's value, or None when `v` is not one."""
    if isinstance(v, Dim) and not v.is_const and not v.has_shape_vars:
        return v
    return None


def check(d: Dim, arg: str, where: str, span: Span, error: Callable[..., None]) -> bool:
    """`d` is an integer >= the argument's lowest value for every option of every gene it reads."""
    low = lowest(arg)
    try:
        for point, value in dims.points(d):
            bad = ("not an integer" if value.denominator != 1 else f"less than {low}" if value < low
                   else "too large" if value > MAX_INT else None)
            if bad is None:
                continue
            text = dims.number_text(value)
            error("E0106", f"{where} is {text} when {dims.describe_point(point)}: {bad}", span,
                  expected=f"an integer of at least {low} for every option", found=f"{d} = {text}",
                  hint="change the expression or the gene's options so that every option gives a valid value")
            return False
    except DimError as err:
        error("E0215", f"{where} cannot be computed: {err}", span)
        return False
    return True
