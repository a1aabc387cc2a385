"""Conditions -> guards: `when` / `if` conditions on constants, genes and tensor presence.

A condition on constants alone is decided at compile time (`const_cond`: True, False, MIXED or None on an error),
so the branch not taken creates no modules; the static pass uses it for values chosen by constants. A condition
that reads a gene, a pick's choice or a tensor's presence becomes a pair of DNFs over guard cubes (`guards`): the
cubes under which it holds and those under which it fails, plus the IR the builder evaluates per genome. Input: the
AST condition and the scope it is read in; output: those values. Nothing else is changed, apart from marking the
genes a condition reads as used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pbtnas.compiler import picks, tying
from pbtnas.compiler.guards import Cube
from pbtnas.compiler.ir import MIXED, POISON, GeneDef, InstanceRef, Scope, TensorRef
from pbtnas.compiler.messages import Reporter, suggest
from pbtnas.dsl import ast
from pbtnas.layers.dims import Dim
from pbtnas.layers.ops import BOOL_FALSE, BOOL_TRUE

if TYPE_CHECKING:  # the static pass imports this module; types only
    from pbtnas.compiler.static import StaticEvaluator

Guards = tuple[list[Cube], list[Cube], Any]  # (true DNF, false DNF, condition IR)


def const_value(name: str, scope: Scope, consts: dict[str, Any]) -> Any:
    """The value of `name` when it is a constant (or a block parameter bound to one), else MIXED."""
    v = scope.lookup(name, consts)
    if isinstance(v, Dim) and v.is_const:
        return int(v.value) if v.value.denominator == 1 else float(v.value)
    if isinstance(v, (str, float)) and not isinstance(v, bool):
        return v
    return MIXED


def const_cond(c: ast.Cond, scope: Scope, consts: dict[str, Any], report: Reporter) -> Any:
    """True/False when `c` reads constants only, MIXED when it reads a gene or a tensor, None on an error."""
    if isinstance(c, ast.CondNot):
        a = const_cond(c.operand, scope, consts, report)
        return a if a is None or a is MIXED else not a
    if isinstance(c, ast.CondBool):
        a, b = const_cond(c.left, scope, consts, report), const_cond(c.right, scope, consts, report)
        if a is None or b is None:
            return None
        if a is MIXED or b is MIXED:
            return MIXED
        return (a and b) if c.op == "and" else (a or b)
    if getattr(c, "index", None) is not None:  # [picks] a pick's choice is decided per genome
        return MIXED
    value = const_value(c.name, scope, consts)
    if value is MIXED:
        return MIXED
    if isinstance(c, ast.CondName):
        text = str(value).lower()
        if text in BOOL_TRUE or text == "1":
            return True
        if text in BOOL_FALSE or text == "0":
            return False
        report.error("E0213", f"constant `{c.name}` is not on/off", c.span, found=f"`{value}`",
                     expected="on or off", hint=f"set it with `--set {c.name}=on` or `=off`, or compare it: "
                                                f"`{c.name} == value`")
        return None
    values = c.values if isinstance(c, ast.CondIn) else [c.value]
    wanted = {v.id if isinstance(v, ast.Name) else v.value for v in values}
    hit = value in wanted or str(value) in {str(w) for w in wanted}
    return (not hit) if isinstance(c, ast.CondEq) and c.negate else hit


class Conditions:
    """Guards of conditions that read genes; a pick's position (`inputs[j]`) is evaluated by the static pass."""

    def __init__(self, static: StaticEvaluator, report: Reporter):
        self.static, self.consts, self.report = static, static.consts, report

    def const_cond(self, c: ast.Cond, scope: Scope) -> Any:
        return const_cond(c, scope, self.consts, self.report)

    def guards(self, c: ast.Cond, scope: Scope) -> Guards | None:
        """The guards under which `c` holds and fails, and its IR; None on an error (reported)."""
        if isinstance(c, ast.CondBool):
            a, b = self.guards(c.left, scope), self.guards(c.right, scope)
            if a is None or b is None:
                return None
            conj = lambda xs, ys: [g for x in xs for y in ys if (g := x & y) is not None]  # noqa: E731
            if c.op == "and":
                return conj(a[0], b[0]), a[1] + b[1], {"t": "and", "a": a[2], "b": b[2]}
            return a[0] + b[0], conj(a[1], b[1]), {"t": "or", "a": a[2], "b": b[2]}
        if isinstance(c, ast.CondNot):
            a = self.guards(c.operand, scope)
            return None if a is None else (a[1], a[0], {"t": "not", "a": a[2]})
        target = scope.names.get(c.name)
        if target is POISON:
            return None
        if getattr(c, "index", None) is not None:  # [picks] `inputs[0] in [s0, s1]`
            return picks.condition(self.static, self.report, c, target, scope)
        if isinstance(target, picks.PickRef):  # [picks] `inputs in [s0_s1]`: the pick's gene itself
            target = target.gene
        fixed = self.const_cond(c, scope)
        if fixed is None:
            return None
        if fixed is not MIXED:  # a constant beside genes in `and`/`or`: true or false for every genome
            return ([Cube()], [], {"t": "const", "value": True}) if fixed else \
                ([], [Cube()], {"t": "const", "value": False})
        if isinstance(c, ast.CondName) and isinstance(target, (TensorRef, InstanceRef)):
            ref = target if isinstance(target, TensorRef) else target.nodes[""]
            t = [a.guard for a in ref.value.alts if a.shape is not None]
            f = [a.guard for a in ref.value.alts if a.shape is None]
            return t, f, {"t": "present", "var": ref.var}
        if not isinstance(target, GeneDef):
            self.report.error("E0101", f"`{c.name}` in a condition must be a gene (slot or param) or a tensor", c.span,
                              hint=suggest(c.name, [k for k, v in scope.names.items() if isinstance(v, GeneDef)]))
            return None
        target.used = True
        gene = tying.genome_gene(target)  # hook: a condition on a tied slot reads the genome's gene
        gene.used = True
        n = len(gene.options)
        if isinstance(c, ast.CondName):
            lowered = [o.lower() for o in gene.options]
            if n != 2 or not (lowered[1] in BOOL_TRUE or lowered[1] == "1") or \
                    not (lowered[0] in BOOL_FALSE or lowered[0] == "0"):
                self.report.error("E0213", f"`{gene.name}` is not an on/off gene", c.span,
                                  found="[" + ", ".join(gene.options) + "]", expected="[off, on]",
                                  hint=f"compare it: `{c.name} in [...]` or `{c.name} == option`")
                return None
            chosen = {1}
        else:
            values = c.values if isinstance(c, ast.CondIn) else [c.value]
            chosen = set()
            for v in values:
                name = v.id if isinstance(v, ast.Name) else str(v.value)
                if name not in gene.options:
                    self.report.error("E0106", f"`{name}` is not an option of `{gene.name}`", v.span,
                                      expected="one of " + ", ".join(gene.options), hint=suggest(name, gene.options))
                    return None
                chosen.add(gene.options.index(name))
            if isinstance(c, ast.CondEq) and c.negate:
                chosen = set(range(n)) - chosen
        t = [x] if (x := Cube.of(gene, chosen, n)) is not None else []
        f = [x] if (x := Cube.of(gene, set(range(n)) - chosen, n)) is not None else []
        return t, f, {"t": "gene_in", "gene": gene, "options": sorted(chosen)}
