"""Diagnostics shared by every pass: one de-duplicating reporter and the helpers that word messages.

Every pass reports through one `Reporter`, so a body elaborated for several bindings (a block instantiated at two
input shapes, a slot checked per option) says each mistake once, and "all mistakes in one pass" holds across passes.
"""

from __future__ import annotations

import difflib
from typing import Any

from pbtnas.compiler.guards import Cube
from pbtnas.compiler.ir import GeneDef, OpL, is_layer
from pbtnas.dsl.diagnostics import Collector, Span
from pbtnas.layers.dims import Dim
from pbtnas.layers.ops import REQUIRED, OpSpec

OP_TEXT = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "pow": "**", "pipe": ">>",
           "otherwise": "??"}


class Reporter:
    """The passes' view of the `Collector`: errors are reported once per (code, message, place)."""

    def __init__(self, diag: Collector):
        self.diag = diag
        self._seen: set = set()

    def error(self, code: str, message: str, span: Span | None, **kw) -> None:
        key = (code, message, span)
        if key in self._seen:  # the same body elaborated for several bindings reports once
            return
        self._seen.add(key)
        self.diag.error(code, message, span, **kw)

    def warning(self, code: str, message: str, span: Span | None, **kw) -> None:
        self.diag.warning(code, message, span, **kw)


# How alike (difflib's ratio) a candidate must be to be suggested: `padding` finds `pad` (0.6), `undefined_op`
# finds no op. One cutoff for every pass, so a mistake gets the same hint wherever it is found.
SUGGEST_CUTOFF = 0.6


def suggest(name: str, candidates) -> str | None:
    """`did you mean `X`?` for the candidate closest to `name`, or None when none is close enough."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=SUGGEST_CUTOFF)
    return f"did you mean `{close[0]}`?" if close else None


def fmt_dim(d: Dim) -> str:
    if not d.is_const:
        text = str(d)
        return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"
    v = d.value
    text = str(v.numerator) if v.denominator == 1 else str(v)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def when(guard: Cube) -> str:
    """`when down0 = conv and up in [a, b]`: the genomes a diagnostic about one alternative applies to."""
    parts = []
    for gene, allowed in sorted(guard.items, key=lambda t: t[0].name):
        opts = [gene.options[i] for i in sorted(allowed)]
        parts.append(f"{gene.name} in [{', '.join(opts)}]" if len(opts) > 1 else f"{gene.name} = {opts[0]}")
    return "when " + " and ".join(parts) if parts else "for every genome"


def shape_hint(found: tuple[Dim, ...], expected: tuple[Dim, ...]) -> str | None:
    if len(found) != len(expected):
        return f"the ranks differ ({len(found)} vs {len(expected)}): flatten or reshape first"
    for i, (f, e) in enumerate(zip(found, expected)):
        if f == e:
            continue
        if i == 0 and len(found) == 3:
            return (f"the channel counts differ ({f} vs {e}): the layer producing it should have `out` = {e}, "
                    f"or add a conv(out={e}) before this point")
        if len(found) == 1:
            return f"the feature sizes differ ({f} vs {e}): check the `out` of the last linear layer"
        diff = f - e
        if f.is_const and e.is_const and f.value > 0 and e.value > 0 and f != e:
            big, small = max(f.value, e.value), min(f.value, e.value)
            if big % small == 0:  # a whole factor apart: a stride or a scale, not a padding
                return (f"dimension {i} is {f} but must be {e} (a factor of {big // small} apart): check the "
                        f"stride, pooling or upsampling factor")
        if diff.is_const:
            return (f"dimension {i} is off by {diff.value}: for a k x k conv with stride 1 use pad = (k-1)/2 "
                    f"(times the dilation)")
        ratio_ok = e != Dim.const(0)
        if ratio_ok:
            return f"dimension {i} is {f} but must be {e}: check the stride, pooling or upsampling factor"
    return None


def same_kind(a: Any, b: Any) -> bool:
    return kind_name(a) == kind_name(b)


def kind_name(v: Any) -> str:
    if isinstance(v, Dim) or (isinstance(v, int) and not isinstance(v, bool)):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a name"
    if isinstance(v, GeneDef):
        return f"gene `{v.name}`"
    if is_layer(v):
        return "a layer"
    return "nothing"


def fmt_static(v: Any) -> str:
    if isinstance(v, Dim):
        return str(v)
    if isinstance(v, OpL):
        return v.spec.name
    if isinstance(v, GeneDef):
        return v.name
    return str(v)


def arg_expectation(p) -> str:
    return {"dim": "an integer dimension", "int": "an integer", "float": "a number",
            "bool": "on/off", "choice": "one of " + ", ".join(p.choices)}.get(p.kind, p.kind)


def signature(spec: OpSpec) -> str:
    parts = []
    for a in spec.args:
        parts.append(a.name if a.default is REQUIRED else f"{a.name}={a.default}")
    if spec.varargs:
        parts.append(f"*{spec.varargs}")
    return f"{spec.name}({', '.join(parts)})"

