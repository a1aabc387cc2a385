"""Shape and guard inference of tensor expressions, and the application of layers to tensors.

A tensor is a `TVal`: alternatives (a shape, or absent) under guards over genes (`guards.py`). `tensor` infers the
value of a tensor expression (`x >> conv(8)`, `sum(a, b)`, `a ?? b`, `when` / `if`) and returns it with the
expression's IR; `apply` pushes a value through a layer value from static evaluation. Every op application is
recorded in the genome layout (`GenomeLayout.ops`: module path -> op, input shapes, weight shapes), or, inside a
slot's option, in the slot's `option_ops` (made concrete later, per input binding, when the slot is applied).
Input: expressions, scopes and layer values; output: (TVal, IR) pairs. It asks `StaticEvaluator` for layers and
`Conditions` for guards, explicitly.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

from pbtnas.compiler import picks, repetition, tensor_products, tying
from pbtnas.compiler.conditions import Conditions
from pbtnas.compiler.guards import Alt, Cube, TVal, simplify
from pbtnas.compiler.ir import ERR_SHAPE, MIXED, POISON, GeneDef, IdentityL, InstanceRef, NoneL, OpL, OpRecord, \
    PathCounter, ResidualL, Scope, SeqL, SlotL, TensorRef, is_layer, shape_eq
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import OP_TEXT, Reporter, fmt_static, shape_hint, suggest, when
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, DimError, shape_str
from pbtnas.layers.ops import OpSpec, ShapeError, get_op

# A branch guard wider than this many cubes is dropped (a wider context only checks more alternatives).
MAX_CONTEXT_CUBES = 64


class TensorInference:
    def __init__(self, static: StaticEvaluator, conditions: Conditions, layout: GenomeLayout, report: Reporter):
        self.static, self.conditions, self.layout, self.report = static, conditions, layout, report
        self.error = report.error  # every diagnostic goes through the one de-duplicating reporter
        self._slot_bindings: set = set()  # (gene, input binding) pairs whose option ops are already recorded
        self._op_dims_memo: dict[tuple, list] = {}  # (slot or the slot it copied, input binding) -> _op_dims
        self._shape_memo: dict = {}
        # The guard under which the tensor expression being elaborated is used (`x >> down if downsample`): layers
        # skip input alternatives outside it, so an alternative the condition rules out is never checked.
        self._context: list[Cube] | None = None

    def tensor(self, expr: ast.Expr, scope: Scope, counter: PathCounter, pending) -> tuple[TVal, Any] | None:
        if isinstance(expr, ast.Index) and isinstance(scope.names.get(expr.base), picks.PickRef):
            return picks.select(self, scope.names[expr.base], expr, scope)  # [picks] `inputs[0]`
        if isinstance(expr, ast.Index) and scope.names.get(expr.base) is POISON:
            return None  # [picks] a pick whose declaration failed (reported)
        if isinstance(expr, ast.Index):  # hook: `c[i - 1]`, an indexed node
            return repetition.read(self.static, self.report, expr, scope)
        if isinstance(expr, ast.Attr) and isinstance(expr.obj, ast.Index):  # hook: `c[0].node`
            return repetition.read(self.static, self.report, expr.obj, scope, expr.name, expr.span)
        if isinstance(expr, ast.Name):
            v = scope.names.get(expr.id)
            if v is POISON:
                return None
            if isinstance(v, TensorRef):
                return v.value, {"t": "var", "name": v.var}
            if isinstance(v, InstanceRef):
                ref = v.nodes[""]
                return ref.value, {"t": "var", "name": ref.var}
            if expr.id in pending:
                self.error("E0210", f"`{expr.id}` is used before it is assigned", expr.span,
                           notes=(f"`{expr.id}` is assigned at line {pending[expr.id].line}",),
                           hint="a cell is a DAG: a node can only read nodes assigned above it (no cycles)")
                return None
            if v is not None or expr.id in self.static.consts:
                self.error("E0105", f"`{expr.id}` is not a tensor", expr.span,
                           hint="apply a layer to a tensor with `tensor >> layer`")
                return None
            self.error("E0101", f"undefined name `{expr.id}`", expr.span,
                       hint=suggest(expr.id, [k for k, x in scope.names.items()
                                               if isinstance(x, (TensorRef, InstanceRef))]))
            return None
        if isinstance(expr, ast.Attr):
            if isinstance(expr.obj, ast.Name) and scope.names.get(expr.obj.id) is POISON:
                return None
            if isinstance(expr.obj, ast.Name) and isinstance(scope.names.get(expr.obj.id), InstanceRef):
                inst = scope.names[expr.obj.id]
                ref = inst.nodes.get(expr.name)
                if ref is None:
                    self.error("E0101", f"block instance `{inst.name}` has no node `{expr.name}`", expr.span,
                               hint=suggest(expr.name, [n for n in inst.nodes if n]))
                    return None
                return ref.value, {"t": "var", "name": ref.var}
            self.error("E0105", "`.` reads a node of a block instance, e.g. `cell1.skip`", expr.span)
            return None
        if isinstance(expr, ast.BinOp) and expr.op == "pipe":
            left = self.tensor(expr.left, scope, counter, pending)
            if left is None:
                return None
            layer = self.static.evaluate(expr.right, scope)
            if layer is None:
                return None
            if not is_layer(layer):
                self.error("E0105", "the right side of `>>` must be a layer", expr.right.span,
                           found=f"`{fmt_static(layer)}`")
                return None
            out, lir = self.apply(layer, left[0], counter, scope)
            return out, {"t": "apply", "layer": lir, "x": left[1]}
        if isinstance(expr, ast.Call) and expr.fn in ("sum", "cat"):
            items = []
            for a in expr.args:
                if a.name is not None:
                    self.error("E0104", f"`{expr.fn}` takes tensors only", a.span)
                    return None
                r = self.tensor(a.value, scope, counter, pending)
                if r is None:
                    return None
                items.append(r)
            if not items:
                self.error("E0104", f"`{expr.fn}` needs at least one tensor", expr.span)
                return None
            return self._combine(expr.fn, items, expr.span)
        if isinstance(expr, ast.Call):
            g = scope.names.get(expr.fn)
            if g is POISON:
                return None
            if isinstance(g, GeneDef) and g.kind == "slot":
                if len(expr.args) != 1 or expr.args[0].name is not None:
                    self.error("E0104", f"slot `{expr.fn}` applies to one tensor: `{expr.fn}(x)`", expr.span)
                    return None
                r = self.tensor(expr.args[0].value, scope, counter, pending)
                if r is None:
                    return None
                g.used = True
                out, lir = self.apply(SlotL(g, expr.span), r[0], counter, scope)
                return out, {"t": "apply", "layer": lir, "x": r[1]}
            if expr.fn in self.static.blocks:
                self.error("E0105", f"instantiate block `{expr.fn}` on its own line: `name = {expr.fn}(...)`",
                           expr.span, hint="each instance needs a name: it prefixes its genes and weights")
                return None
            if get_op(expr.fn) is not None:
                self.error("E0105", f"apply op `{expr.fn}` with `>>`: `x >> {expr.fn}(...)`", expr.span)
                return None
            self.error("E0103", f"unknown function `{expr.fn}`", expr.fn_span,
                       hint=suggest(expr.fn, ["sum", "cat", *self.static.blocks]))
            return None
        if isinstance(expr, ast.BinOp) and expr.op == "mul":
            return tensor_products.product(self, expr, scope, counter, pending)  # [products] `x * gate`
        if isinstance(expr, ast.BinOp) and expr.op in ("add", "otherwise"):
            left = self.tensor(expr.left, scope, counter, pending)
            right = self.tensor(expr.right, scope, counter, pending)
            if left is None or right is None:
                return None
            if expr.op == "add":
                for side, sp in ((left, expr.left.span), (right, expr.right.span)):
                    if side[0].maybe_absent:
                        self.error("E0204", "an operand of `+` may be absent", sp,
                                   notes=tuple(when(a.guard) for a in side[0].alts if a.shape is None)[:2],
                                   hint="use `sum(a, b)`, which leaves absent terms out")
                return self._combine("add", [left, right], expr.span)
            alts: list[Alt] = [a for a in left[0].alts if a.shape is not None]
            for a in left[0].alts:
                if a.shape is None:
                    for b in right[0].alts:
                        g = a.guard & b.guard
                        if g is not None:
                            alts.append(Alt(b.shape, g))
            return TVal(simplify(alts, self.layout.n_options)), {"t": "otherwise", "a": left[1], "b": right[1]}
        if isinstance(expr, (ast.When, ast.IfElse)):
            fixed = self.conditions.const_cond(expr.cond, scope)
            if fixed is None:
                return None
            if fixed is not MIXED:
                # A condition on constants alone is decided here: only the chosen branch is elaborated, so the other
                # creates no modules (a layout selected by `--set` has exactly its own weights, not a dead copy).
                if fixed:
                    return self.tensor(expr.expr, scope, counter, pending)
                if isinstance(expr, ast.IfElse):
                    return self.tensor(expr.other, scope, counter, pending)
                return TVal.absent(), {"t": "absent"}
            cond = self.conditions.guards(expr.cond, scope)
            then = self._within(cond[0] if cond else None, lambda: self.tensor(expr.expr, scope, counter, pending))
            other = self._within(cond[1] if cond else None,
                                 lambda: self.tensor(expr.other, scope, counter, pending)) \
                if isinstance(expr, ast.IfElse) else None
            if cond is None or then is None or (isinstance(expr, ast.IfElse) and other is None):
                return None
            true_dnf, false_dnf, cir = cond
            alts = [Alt(a.shape, g) for a in then[0].alts for c in true_dnf if (g := a.guard & c) is not None]
            other_val = other[0] if other is not None else TVal.absent()
            alts += [Alt(a.shape, g) for a in other_val.alts for c in false_dnf if (g := a.guard & c) is not None]
            if not alts:
                alts = [Alt(None, Cube())]
            ir = {"t": "when", "cond": cir, "then": then[1], "else": other[1] if other else None}
            return TVal(simplify(alts, self.layout.n_options)), ir
        if isinstance(expr, ast.TupleExpr):
            self.error("E0105", "a tuple can only be returned by a network", expr.span)
            return None
        if isinstance(expr, (ast.Int, ast.Float, ast.Str)):
            self.error("E0105", "a tensor is needed here, not a constant", expr.span)
            return None
        if isinstance(expr, ast.BinOp):
            self.error("E0105", f"`{OP_TEXT.get(expr.op, expr.op)}` is not defined on tensors", expr.span,
                       hint="tensors combine with `+`, `*`, `sum(...)`, `cat(...)` and `??`")
            return None
        self.error("E0105", "a tensor is needed here", expr.span)
        return None

    def _combine(self, kind: str, items: list[tuple[TVal, Any]], span: Span) -> tuple[TVal, Any]:
        # Fold pairwise, simplifying in between: the alternatives of a sum of n optional terms then stay few,
        # where the product of all of them at once would have 2^n.
        value = items[0][0]
        for other, _ in items[1:]:
            value = self._combine_values(kind, [value, other], span)
        if len(items) == 1:
            value = self._combine_values(kind, [value], span)
        if kind == "cat" and any(v.maybe_absent for v, _ in items):
            self.error("E0204", "an input of `cat` may be absent", span, hint="give it a fallback with `??`")
        return value, {"t": kind, "items": [ir for _, ir in items]}

    def _combine_values(self, kind: str, values: list[TVal], span: Span) -> TVal:
        alts: list[Alt] = []
        reported = False
        for combo in itertools.product(*[v.alts for v in values]):
            guard: Cube | None = Cube()
            for a in combo:
                guard = guard & a.guard if guard is not None else None
            if guard is None:
                continue
            shapes = [a.shape for a in combo if a.shape is not None]
            if kind in ("add", "cat") and len(shapes) < len(combo):
                continue  # reported by the caller (`+`) or below (`cat`)
            if not shapes:
                alts.append(Alt(None, guard))
                continue
            if any(s is ERR_SHAPE for s in shapes):
                alts.append(Alt(ERR_SHAPE, guard))
                continue
            if kind == "cat":
                if any(len(s) != len(shapes[0]) or not shape_eq(s[1:], shapes[0][1:]) for s in shapes):
                    if not reported:
                        self.error("E0205", "`cat` joins tensors that differ only in their first dimension", span,
                                   found=", ".join(shape_str(s) for s in shapes), notes=(when(guard),))
                        reported = True
                    alts.append(Alt(ERR_SHAPE, guard))
                    continue
                total = shapes[0][0]
                for s in shapes[1:]:
                    total = total + s[0]
                alts.append(Alt((total, *shapes[0][1:]), guard))
                continue
            if any(not shape_eq(s, shapes[0]) for s in shapes):
                if not reported:
                    self.error("E0205", f"`{'+' if kind == 'add' else 'sum'}` of tensors with different shapes", span,
                               found=" and ".join(shape_str(s) for s in dict.fromkeys(shapes)),
                               expected="equal shapes", notes=(when(guard),),
                               hint="resize one side first (a 1x1 conv for channels, a pool or upsample for size)")
                    reported = True
                alts.append(Alt(ERR_SHAPE, guard))
                continue
            alts.append(Alt(shapes[0], guard))
        if not alts:
            alts = [Alt(ERR_SHAPE, Cube())]
        return TVal(simplify(alts, self.layout.n_options))

    def _within(self, dnf: list[Cube] | None, elaborate):
        """Elaborate under the extra guard `dnf` (a branch of a condition)."""
        outer = self._context
        if dnf is not None:
            inner = dnf if outer is None else [g for a in outer for b in dnf if (g := a & b) is not None]
            self._context = inner if len(inner) <= MAX_CONTEXT_CUBES else outer  # a wider context only checks more
        try:
            return elaborate()
        finally:
            self._context = outer

    def _feasible(self, x: TVal) -> TVal:
        if self._context is None:
            return x
        kept = tuple(a for a in x.alts if any(a.guard & c is not None for c in self._context))
        # A layer no genome reaches still exists (its weights are part of every build): check it as written.
        return TVal(kept) if kept else x

    def apply(self, layer: Any, x: TVal, counter: PathCounter, scope: Scope,
              record: GeneDef | None = None, option: int = -1) -> tuple[TVal, Any]:
        """`x >> layer`. With `record`, the layer is option `option` of that slot: its ops go to the slot's
        `option_ops`, in the slot's symbolic shapes, instead of the op table."""
        x = self._feasible(x)
        if isinstance(layer, SeqL):
            irs = []
            for item in layer.items:
                x, ir = self.apply(item, x, counter, scope, record, option)
                irs.append(ir)
            return x, {"t": "seq", "items": irs}
        if isinstance(layer, NoneL):
            counter.next()
            return TVal.absent(), {"t": "none"}
        if isinstance(layer, IdentityL):
            counter.next()
            return x, {"t": "identity"}
        if isinstance(layer, ResidualL):
            path = counter.next()
            out, body_ir = self.apply(layer.body, x, PathCounter(path), scope, record, option)
            alts = []
            for a in x.alts:
                if a.shape is None:
                    alts.append(a)
            for b in out.alts:
                if b.shape is None:
                    self.error("E0204", "the body of `residual` may be absent", layer.span)
                    return x, {"t": "residual", "body": body_ir}
            for a, b in zip(x.alts, out.alts):
                if a.shape is not None and b.shape is not ERR_SHAPE and a.shape is not ERR_SHAPE \
                        and not shape_eq(a.shape, b.shape):
                    self.error("E0206", "the body of `residual` must keep the shape of its input", layer.span,
                               found=shape_str(b.shape), expected=shape_str(a.shape))
            return x, {"t": "residual", "body": body_ir}
        if isinstance(layer, SlotL):
            return self._apply_slot(layer, x, counter, scope)
        assert isinstance(layer, OpL)
        path = counter.next()
        rec = None
        if record is None:
            rec = self.layout.ops.setdefault(path, OpRecord(path, layer.spec, span=layer.span))
        shape_args = {k: (Dim.sym(v.symbol) if isinstance(v, GeneDef) and v.numeric
                          else v.values[0] if isinstance(v, GeneDef) else v) for k, v in layer.args.items()}
        alts = []
        for a in x.alts:
            if a.shape is None or a.shape is ERR_SHAPE:
                alts.append(a)
                continue
            try:
                out = self._shape_rule(layer.spec, a.shape, shape_args)
            except ShapeError as err:
                self.error("E0206", f"`{layer.spec.name}` cannot take this input: {err.message}", layer.span,
                           found=shape_str(a.shape), hint=err.hint)
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            except DimError as err:  # [intargs] a gene-dependent stride dividing a shape variable
                self.error("E0215", f"`{layer.spec.name}` cannot be sized exactly: {err}", layer.span,
                           found=shape_str(a.shape))
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            except (ZeroDivisionError, OverflowError) as err:  # an argument of 0 (a stride, a pool size) or huge
                self.error("E0206", f"`{layer.spec.name}` cannot use these arguments: "
                           f"{'division by zero' if isinstance(err, ZeroDivisionError) else err}", layer.span,
                           found=shape_str(a.shape), hint="kernel sizes, strides and factors must be positive")
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            if not self.static.dims_ok(tuple(d.subst(scope.binding) for d in out), layer.span,
                                       f"`{layer.spec.name}` would output a dimension of {{dim}}"):
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            concrete_in = tuple(d.subst(scope.binding) for d in a.shape)
            if record is not None:
                record.option_ops.append((path, option, a.shape, layer.spec, shape_args))
            else:
                rec.in_shapes.append(concrete_in)
                rec.param_dims.append(tuple(layer.spec.param_dims(concrete_in, shape_args)))
            alts.append(Alt(out, a.guard))
        ir = {"t": "op", "path": path, "op": layer.spec.name, "args": layer.args}
        return TVal(simplify(alts, self.layout.n_options)), ir

    def _shape_rule(self, spec: OpSpec, shape: tuple[Dim, ...], args: dict) -> tuple[Dim, ...]:
        """Shape rules are pure, and option groups repeat the same ops on the same symbolic shapes: memoise."""
        key = (spec.name, shape, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))
        hit = self._shape_memo.get(key)
        if hit is None:
            with dims.collect_obligations() as found:
                out = spec.shape(shape, args)
            hit = self._shape_memo[key] = (out, found)
        dims.record_obligations(hit[1])  # a memoised rule's divisibility still binds the slot checked now
        return hit[0]

    def _apply_slot(self, layer: SlotL, x: TVal, counter: PathCounter, scope: Scope) -> tuple[TVal, Any]:
        gene = layer.gene
        gene.used = True
        counter.next()
        x = self._feasible(x)
        n = len(gene.options)
        present = set(range(n)) - set(gene.none_options)
        alts = []
        for a in x.alts:
            if a.shape is None or a.shape is ERR_SHAPE:
                alts.append(a)
                continue
            if not gene.in_pattern:
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            binding: dict[str, Dim] = {}
            if not unify(gene.in_pattern, a.shape, binding):
                self.error("E0202", f"slot `{gene.name.rsplit('.', 1)[-1]}` cannot take this input", layer.span,
                           found=shape_str(a.shape), expected=shape_str(gene.in_pattern),
                           hint=shape_hint(a.shape, tuple(d.subst(binding) for d in gene.in_pattern)))
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            fractional = [(v, d) for v, d in sorted(binding.items()) if not d.is_integral()]
            if fractional:  # an interface such as [C, 2 * H, 2 * W] on an odd size
                v, d = fractional[0]
                self.error("E0212", f"slot `{gene.name.rsplit('.', 1)[-1]}` cannot take this input: shape variable "
                           f"`{dims._short(v)}` of its interface {shape_str(gene.in_pattern)} would be {d}",
                           layer.span, found=shape_str(a.shape),
                           hint="give the slot an input whose size fits its interface exactly")
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            if not self._obligations_hold(gene, binding, layer.span):
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            bound = tuple(sorted(binding.items()))
            seen_key = (gene.name, bound)
            if seen_key not in self._slot_bindings:  # a slot reused with the same input records its ops once
                self._slot_bindings.add(seen_key)
                for (path, option, _, spec, _), (concrete, param_dims) in zip(gene.option_ops,
                                                                              self._op_dims(gene, binding, bound)):
                    rec = self.layout.ops.get(f"{path}#{option}")
                    if rec is None:
                        rec = self.layout.ops[f"{path}#{option}"] = OpRecord(path, spec, slot=gene, option=option)
                    rec.in_shapes.append(concrete)
                    rec.param_dims.append(param_dims)
            out = tuple(d.subst(binding) for d in gene.out_pattern)
            key = tying.genome_gene(gene)  # tied slots: one gene in the guards, so they agree
            if present:
                g = a.guard & c if (c := Cube.of(key, present, n)) is not None else None
                if g is not None:
                    alts.append(Alt(out, g))
            if gene.none_options:
                g = a.guard & c if (c := Cube.of(key, gene.none_options, n)) is not None else None
                if g is not None:
                    alts.append(Alt(None, g))
        ir = {"t": "slot", "gene": gene}
        if gene.tied_to is not None:  # hook: a tied slot's own layers (the builder looks them up by this name)
            ir["layers"] = gene.name
        return TVal(simplify(alts, self.layout.n_options)), ir

    def _op_dims(self, gene: GeneDef, binding: dict[str, Dim], bound: tuple) -> list[tuple[tuple[Dim, ...], tuple]]:
        """Per op of the slot's options: its input shape and parameter dims for this input. Copies of one checked
        slot (tied cells, repeated blocks) share them: the same ops on the same input."""
        key = (id(gene.ops_source or gene), bound)
        hit = self._op_dims_memo.get(key)
        if hit is None:
            memo: dict[Dim, Dim] = {}
            sub = lambda d: memo[d] if d in memo else memo.setdefault(d, d.subst(binding))  # noqa: E731
            hit = []
            for _, _, sym_in, spec, args in gene.option_ops:
                concrete = tuple(sub(d) for d in sym_in)
                cargs = {k: (sub(v) if isinstance(v, Dim) else v) for k, v in args.items()}
                hit.append((concrete, tuple(spec.param_dims(concrete, cargs))))
            self._op_dims_memo[key] = hit
        return hit

    def _obligations_hold(self, gene: GeneDef, binding: dict[str, Dim], span: Span) -> bool:
        for ob in gene.obligations:
            try:
                bad = ob.violation(binding)
            except DimError as err:
                self.error("E0215", f"slot `{gene.name.rsplit('.', 1)[-1]}` cannot be sized: {err}", span)
                return False
            if bad is None:
                continue
            point, value = bad
            names = ", ".join(f"{dims._short(s)} = {binding[s]}" for s in sorted(ob.dim.symbols & binding.keys()))
            at = f" when {dims.describe_point(point)}" if point else ""
            text = str(ob.dim) if ob.dim.as_single_symbol() else f"({ob.dim})"
            self.error("E0212", f"slot `{gene.name.rsplit('.', 1)[-1]}` needs `{ob.dim}` to be divisible by "
                       f"{ob.divisor} (it computes `{text} {ob.op} {ob.divisor}`), but {names}{at}", span,
                       hint="give the slot an input whose size is divisible by what its options divide it by "
                            "(strides, patch sizes, attention heads)")
            return False
        return True


def unify(pattern: tuple[Dim, ...], shape: tuple[Dim, ...], binding: dict[str, Dim]) -> bool:
    """Bind the pattern's variables to the shape's dims; True when the shape fits the pattern. A dim that is one
    variable binds it; then a dim linear in one variable still unbound (`2 * H`, `H + 1`) solves for it at a
    constant size: the value may be a fraction (7 = 2 * H), which the caller reports (E0212)."""
    if len(pattern) != len(shape):
        return False
    for p, s in zip(pattern, shape):
        var = p.as_single_symbol()
        if var is not None and var not in binding and var.startswith("$"):
            binding[var] = s
    for p, s in zip(pattern, shape):
        solved = _solve_linear(p.subst(binding), s)
        if solved is not None:
            binding[solved[0]] = solved[1]
    for p, s in zip(pattern, shape):
        if p.subst(binding) != s:
            return False
    return True


def _solve_linear(p: Dim, s: Dim) -> tuple[str, Dim] | None:
    """(v, value) when ``p`` is ``a * v + b`` in one shape variable v (a and b constants) and ``s`` is a constant."""
    if len(p.symbols) != 1 or not s.is_const:
        return None
    (var,) = p.symbols
    if not var.startswith("$"):
        return None
    a = b = Fraction(0)
    for mono, coef in p.terms:
        if mono == ():
            b = Fraction(coef)
        elif mono == ((var, 1),):
            a = Fraction(coef)
        else:  # a power or a product: not linear
            return None
    if a == 0:
        return None
    return var, Dim.const((s.value - b) / a)
