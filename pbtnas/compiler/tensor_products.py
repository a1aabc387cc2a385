"""`a * b` on tensors: gating and squeeze-and-excitation, `x * (x >> global_avg_pool >> linear(C) >> sigmoid)`.

The shape rule is `pbtnas.layers.products.broadcast_shape` (leading alignment: a [C] gate scales the channels of
[C, H, W]); the builder runs `products.multiply`, which applies the same rule to batched tensors. Like `+`, both
operands must be present for every genome (E0204), and every pair of their alternatives that can hold together must
broadcast (E0205, with both shapes and the rule).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from pbtnas.compiler.guards import Alt, Cube, TVal, simplify
from pbtnas.compiler.ir import ERR_SHAPE, PathCounter, Scope
from pbtnas.compiler.messages import when
from pbtnas.dsl import ast
from pbtnas.layers.dims import shape_str
from pbtnas.layers.ops import ShapeError
from pbtnas.layers.products import broadcast_shape

if TYPE_CHECKING:  # the tensors pass imports this module; types only
    from pbtnas.compiler.tensors import TensorInference


def product(tensors: "TensorInference", expr: ast.BinOp, scope: Scope, counter: PathCounter,
            pending: dict) -> tuple[TVal, Any] | None:
    left = tensors.tensor(expr.left, scope, counter, pending)
    right = tensors.tensor(expr.right, scope, counter, pending)
    if left is None or right is None:
        return None
    for side, sp in ((left, expr.left.span), (right, expr.right.span)):
        if side[0].maybe_absent:
            tensors.report.error("E0204", "an operand of `*` may be absent", sp,
                                 notes=tuple(when(a.guard) for a in side[0].alts if a.shape is None)[:2],
                                 hint="give it a fallback with `??` (e.g. `gate ?? x`), or multiply only when both exist")
    alts: list[Alt] = []
    reported = False
    for a, b in itertools.product(left[0].alts, right[0].alts):
        guard = a.guard & b.guard
        if guard is None or a.shape is None or b.shape is None:
            continue
        if a.shape is ERR_SHAPE or b.shape is ERR_SHAPE:
            alts.append(Alt(ERR_SHAPE, guard))
            continue
        try:
            alts.append(Alt(broadcast_shape(a.shape, b.shape), guard))
        except ShapeError as err:
            if not reported:
                tensors.report.error("E0205", f"`*` of tensors whose shapes do not broadcast: {err.message}", expr.span,
                                     found=f"{shape_str(a.shape)} and {shape_str(b.shape)}", notes=(when(guard),),
                                     hint=err.hint)
                reported = True
            alts.append(Alt(ERR_SHAPE, guard))
    if not alts:
        alts = [Alt(ERR_SHAPE, Cube())]  # never both present: reported above; later uses stay quiet
    return TVal(simplify(alts, tensors.layout.n_options)), {"t": "mul", "items": [left[1], right[1]]}
