"""Networks, block bodies and block instances: the walk that drives the other passes over each network.

`network` elaborates one network declaration into a `NetworkIR`. A body is walked in two steps: its genes are
declared first (visible in the whole body), then statements run in order: genes are placed in the genome,
assignments infer tensors (`tensors.py`), and a block call is instantiated in place: its shape variables are bound
by unifying its declared input shapes with the arguments' alternatives, and its body is elaborated once per
distinct binding, with its own module prefix and genes. Output: the statements and result IR of the network, and
the genes and ops recorded in the layout.
"""

from __future__ import annotations

import itertools
from typing import Any

from pbtnas.compiler import picks, repetition, tying
from pbtnas.compiler.declarations import Declarations
from pbtnas.compiler.genes import Genes
from pbtnas.compiler.guards import Alt, Cube, TVal, simplify
from pbtnas.compiler.ir import ERR_SHAPE, POISON, GeneDef, InstanceRef, NetworkIR, PathCounter, Scope, TensorRef, \
    shape_eq
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import Reporter, shape_hint, suggest, when
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.compiler.tensors import TensorInference, unify
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers.dims import Dim, shape_str


class BlockElaborator:
    def __init__(self, decls: Declarations, static: StaticEvaluator, tensors: TensorInference, genes: Genes,
                 layout: GenomeLayout, report: Reporter):
        self.decls, self.static, self.tensors, self.genes, self.layout, self.report = \
            decls, static, tensors, genes, layout, report
        self.error = report.error  # every diagnostic goes through the one de-duplicating reporter
        self.stmts: list[tuple[str, Any]] = []  # the statements of the body being elaborated
        self._instance_stack: list[str] = []  # blocks being instantiated, outermost first (recursion check)
        self.reached: set[str] = set()  # blocks the networks elaborated (unreached.py checks the others)
        self.unrolled = 0  # loop iterations unrolled so far in the whole space (repetition.py bounds it)
        # (statement span, instance prefix, value) of every node assigned: what a node is in each instance, kept for
        # the language server's hover (the scopes that hold these values are gone after the walk)
        self.nodes: list[tuple[Span, str, TVal]] = []

    def network(self, decl: ast.BlockDecl) -> NetworkIR | None:
        """The IR of one network, or None when its body or result failed (reported)."""
        scope = Scope(decl.name, "", {})
        inputs, input_shapes = [], []
        for p in decl.params:
            if p.kind != "tensor":
                self.error("E0105", f"network `{decl.name}` takes tensors only (`{p.name}: [dims]`)", p.span)
                continue
            shape = self.static.shape(p.shape, scope)
            if shape is None:
                scope.names[p.name] = POISON  # reported; later uses of the input stay quiet
                continue
            if any(not d.is_const for d in shape):
                self.error("E0105", "network inputs have fixed sizes (constants only)", p.shape.span)
                scope.names[p.name] = POISON
                continue
            scope.names[p.name] = TensorRef(p.name, TVal.present(shape))
            inputs.append(p.name)
            input_shapes.append(shape)
        self.stmts = []
        result = self._body(decl, scope)
        outputs = self._out_types(decl.out_type, scope)
        n_out = len(outputs) if outputs is not None else 1
        if result is not None and outputs is not None:
            values, ir = result
            self._check_result(decl, values, outputs)
            return NetworkIR(decl.name, inputs, input_shapes, self.stmts, ir, n_out,
                             [[s for s in alts] for alts in outputs])
        return None

    def _out_types(self, t, scope: Scope) -> list[list[tuple[Dim, ...]]] | None:
        if isinstance(t, ast.TupleType):
            items = [self._out_types(u, scope) for u in t.items]
            if any(i is None for i in items):
                return None
            return [i[0] for i in items]
        alts = t.alternatives if isinstance(t, ast.UnionType) else [t]
        shapes = [self.static.shape(a, scope) for a in alts]
        if any(s is None for s in shapes):
            return None
        return [shapes]

    def _check_result(self, decl: ast.BlockDecl, values: list[TVal], outputs: list[list[tuple[Dim, ...]]],
                      binding_note: str = "") -> None:
        kind = "network" if decl.is_network else "block"
        if len(values) != len(outputs):
            self.error("E0207", f"{kind} `{decl.name}` returns {len(values)} value(s) but declares {len(outputs)}",
                       decl.out_type.span)
            return
        ret = next((s for s in decl.body if isinstance(s, ast.Return)), None)
        for value, declared in zip(values, outputs):
            if value.maybe_absent:
                self.error("E0204", f"the result of {kind} `{decl.name}` may be absent",
                           ret.expr.span if ret is not None else decl.span,
                           notes=tuple(when(a.guard) for a in value.alts if a.shape is None)[:3],
                           hint="give a fallback with `??`, e.g. `return sum(a, b) ?? x`")
                continue
            for shape in value.shapes:
                if shape is ERR_SHAPE:
                    continue
                if not any(shape_eq(shape, d) for d in declared):
                    self.error("E0203", f"{kind} `{decl.name}` returns a shape it does not declare", decl.out_type.span,
                               found=shape_str(shape), expected=" | ".join(shape_str(d) for d in declared),
                               notes=(binding_note,) if binding_note else ())

    def _body(self, decl: ast.BlockDecl, scope: Scope) -> tuple[list[TVal], Any] | None:
        # Pass 1: genes are visible in the whole body (an option group may name a gene declared below it).
        gene_stmts: dict[str, GeneDef] = {}
        for stmt in decl.body:
            if isinstance(stmt, (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef)):
                if stmt.name in gene_stmts or stmt.name in scope.names:
                    self.error("E0102", f"`{stmt.name}` is declared twice in `{decl.name}`", stmt.span,
                               hint="each slot and param needs its own name")
                    continue
                gene = self.genes.declare(stmt, scope)
                if gene is not None:
                    gene_stmts[stmt.name] = gene
                    scope.names[stmt.name] = gene
                else:
                    scope.names[stmt.name] = POISON  # reported; its uses stay quiet
        has_return = any(isinstance(s, ast.Return) for s in decl.body) or repetition.returns_inside(decl.body)
        assigned: dict[str, Span] = {}
        pending = {s.name: s.span for s in decl.body if isinstance(s, ast.Assign)}
        result = None
        for stmt in decl.body:
            if isinstance(stmt, (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef)):
                gene = gene_stmts.get(stmt.name)
                if gene is not None and gene.index < 0:
                    tying.lay_out(self.layout, gene)  # hook: a tied gene is laid out once, at its first instance
                    if gene.kind == "slot":
                        self.genes.check_slot(gene, stmt, scope)
            elif isinstance(stmt, ast.For):  # hook: repetition
                repetition.unroll(self, stmt, decl, scope, assigned, pending)
            elif isinstance(stmt, ast.Assign) and repetition.handles(scope, stmt):  # hook: indexed nodes
                repetition.assign(self, stmt, decl, scope, assigned, pending)
            elif isinstance(stmt, ast.Assign):
                if stmt.name in assigned or stmt.name in gene_stmts:
                    self.error("E0102", f"`{stmt.name}` is assigned twice in `{decl.name}`", stmt.span,
                               notes=(f"first assigned at line {(assigned.get(stmt.name) or stmt.span).line}",),
                               hint="cells are DAGs: give each node its own name")
                    continue
                self.assign(stmt, scope, pending)
                assigned[stmt.name] = stmt.span
                pending.pop(stmt.name, None)
            elif isinstance(stmt, ast.Pick):  # [picks] input selection: one gene over the k-combinations
                if stmt.name in assigned or stmt.name in gene_stmts:
                    self.error("E0102", f"`{stmt.name}` is defined twice in `{decl.name}`", stmt.span,
                               hint="a pick needs a name of its own")
                    continue
                picks.declare(self.genes, self.tensors, stmt, scope, pending)
                assigned[stmt.name] = stmt.span
            elif isinstance(stmt, ast.Return):
                if result is not None:
                    self.error("E0102", "a second `return`", stmt.span)
                    continue
                result = self._result(stmt.expr, scope, pending)
        if result is None and not has_return:
            self.error("E0211", f"`{decl.name}` has no `return`", decl.span,
                       hint="end the body with `return <tensor>`")
        return result

    def _result(self, expr: ast.Expr, scope: Scope, pending) -> tuple[list[TVal], Any] | None:
        items = expr.items if isinstance(expr, ast.TupleExpr) else [expr]
        vals, irs = [], []
        for item in items:
            r = self.tensors.tensor(item, scope, PathCounter(f"{scope.prefix}.return"), pending)
            if r is None:
                return None
            vals.append(r[0])
            irs.append(r[1])
        ir = {"t": "tuple", "items": irs} if isinstance(expr, ast.TupleExpr) else irs[0]
        return vals, ir

    def assign(self, stmt: ast.Assign, scope: Scope, pending) -> None:
        """`name = expr`: a block instance, or a tensor node whose IR joins the body's statements."""
        expr = stmt.expr
        if stmt.tied is not None and not (isinstance(expr, ast.Call) and expr.fn in self.decls.blocks):
            tying.not_an_instance(self.genes, stmt)  # hook: `tied` on an expression
        if isinstance(expr, ast.Call) and expr.fn in self.decls.blocks:
            inst = self._instance(stmt.name, expr, scope, pending, stmt.tied)
            scope.names[stmt.name] = inst if inst is not None else POISON  # a failed instance was reported
            if inst is not None:
                self.nodes.append((stmt.span, scope.prefix, inst.nodes[""].value))
            return
        r = self.tensors.tensor(expr, scope, PathCounter(f"{scope.prefix}.{stmt.name}"), pending)
        if r is None:
            scope.names[stmt.name] = TensorRef(scope.var_prefix + stmt.name, TVal.present(ERR_SHAPE))
            return
        value, ir = r
        var = scope.var_prefix + stmt.name
        self.stmts.append((var, ir))
        scope.names[stmt.name] = TensorRef(var, value)
        self.nodes.append((stmt.span, scope.prefix, value))

    def _instance(self, name: str, call: ast.Call, scope: Scope, pending, tied: str | None = None
                  ) -> InstanceRef | None:
        block = self.decls.blocks[call.fn]
        if call.fn in self._instance_stack:
            self.error("E0210", f"block `{call.fn}` instantiates itself", call.span,
                       notes=(" -> ".join(self._instance_stack + [call.fn]),), hint="blocks cannot be recursive")
            return None
        args = {a.name: a for a in call.args if a.name is not None}
        for a in call.args:
            if a.name is None:
                self.error("E0104", f"block arguments are named: `{call.fn}(x=...)`", a.span)
                return None
        params = {p.name: p for p in block.params}
        for a in args:
            if a not in params:
                self.error("E0104", f"block `{call.fn}` has no parameter `{a}`", args[a].span,
                           hint=suggest(a, params) or f"its parameters: {', '.join(params) or 'none'}")
        prefix = f"{scope.prefix}.{name}"
        var_prefix = f"{scope.var_prefix}{name}/"
        base = Scope(prefix, var_prefix, {},
                     ties=tying.enter_instance(self.genes, scope, call.fn, name, tied, call.span))
        for sv in block.shape_vars:
            base.names[sv.id] = Dim.sym(f"${prefix}.{sv.id}")
        tensor_args: list[tuple[ast.Param, TVal | None, str | None]] = []
        for p in block.params:
            a = args.get(p.name)
            if p.kind == "tensor":
                if a is None:
                    if not p.optional:
                        self.error("E0104", f"block `{call.fn}` needs tensor `{p.name}`", call.span)
                        return None
                    tensor_args.append((p, None, None))
                    continue
                r = self.tensors.tensor(a.value, scope, PathCounter(f"{scope.prefix}.{name}.{p.name}"), pending)
                if r is None:
                    return None
                var = f"{var_prefix}{p.name}"
                self.stmts.append((var, r[1]))
                tensor_args.append((p, r[0], var))
            else:
                if a is None:
                    self.error("E0104", f"block `{call.fn}` needs parameter `{p.name}`", call.span)
                    return None
                if p.kind == "options":
                    gname = a.value.id if isinstance(a.value, ast.Name) else None
                    group = self.decls.groups.get(gname) if gname else None
                    if group is None:
                        self.error("E0101", f"`{p.name}` needs an option group", a.value.span,
                                   hint=suggest(gname or "", self.decls.groups))
                        return None
                    base.names[p.name] = group
                    continue
                v = self.static.evaluate(a.value, scope)
                if v is None:
                    return None
                base.names[p.name] = v
        # Bind shape variables for each combination of input alternatives.
        bindings: list[tuple[dict[str, Dim], dict[str, TVal]]] = []
        per_input = []
        for p, val, var in tensor_args:
            pattern = self.static.shape(p.shape, base)
            if pattern is None:
                return None
            if val is None:
                per_input.append([(p, pattern, None, TVal.absent())])
                continue
            options = []
            for alt in val.alts:
                options.append((p, pattern, alt, TVal((Alt(alt.shape, alt.guard),))))
            per_input.append(options)
        groups: dict[tuple, dict[str, list[Alt]]] = {}
        order: list[tuple] = []
        svars = [f"${prefix}.{sv.id}" for sv in block.shape_vars]
        for combo in itertools.product(*per_input):
            binding: dict[str, Dim] = {}
            ok = True
            for p, pattern, alt, _ in combo:
                if alt is not None and alt.shape is ERR_SHAPE:
                    # The input's error is reported already: its sizes become placeholders (`?` symbols), so the
                    # body is still checked for its own mistakes without blaming shape variables left unbound.
                    for d in pattern:
                        if (var := d.as_single_symbol()) is not None and var.startswith("$"):
                            binding.setdefault(var, Dim.sym("?" + var[1:]))
                    continue
                if alt is None or alt.shape is None:
                    continue
                if not unify(pattern, alt.shape, binding):
                    self.error("E0202", f"`{p.name}` of block `{call.fn}` does not fit its declared shape",
                               args[p.name].span, found=shape_str(alt.shape), expected=shape_str(pattern),
                               hint=shape_hint(alt.shape, tuple(d.subst(binding) for d in pattern)))
                    ok = False
            if not ok:
                return None
            key = tuple((v, binding.get(v)) for v in svars)
            if key not in groups:
                groups[key] = {}
                order.append(key)
            for p, pattern, alt, tv in combo:
                if alt is None:
                    groups[key].setdefault(p.name, []).append(Alt(None, Cube()))
                else:
                    groups[key].setdefault(p.name, []).append(alt)
        if not order:
            order.append(tuple((v, None) for v in svars))
            groups[order[0]] = {}
        results: list[TVal] = []
        node_alts: dict[str, list[Alt]] = {}
        first_stmts: list | None = None
        first_ir = None
        outer_stmts = self.stmts
        self._instance_stack.append(call.fn)
        for key in order:
            binding = {v: d for v, d in key if d is not None}
            for v, d in binding.items():
                if not d.is_integral():
                    self.error("E0212", f"shape variable `{v.rsplit('.', 1)[-1]}` of `{name}` would be {d}",
                               call.span, hint="give the block an input whose size fits its declared shape exactly "
                                    "(an even size for `2 * H`) and that its strides, patch sizes and heads divide")
            # The body is checked with this binding's sizes: blocks are instantiated at concrete shapes, while
            # option groups (checked per slot, with free shape variables) carry the "for every H" proof.
            inner = Scope(prefix, var_prefix, dict(base.names), binding={**scope.binding, **binding}, ties=base.ties)
            for sv in block.shape_vars:
                if f"${prefix}.{sv.id}" in binding:
                    inner.names[sv.id] = binding[f"${prefix}.{sv.id}"]
            for p, val, var in tensor_args:
                alts = groups[key].get(p.name)
                if p.name in groups[key]:
                    # Inside the block only the input's shape and presence matter: dropping the guards of the
                    # genes upstream keeps the alternatives from multiplying block after block.
                    pattern = self.static.shape(p.shape, inner)
                    presence = {a.shape is not None for a in alts}
                    tv = TVal(tuple(Alt(pattern if present else None, Cube()) for present in sorted(presence)))
                else:
                    tv = TVal.absent()
                inner.names[p.name] = TensorRef(var or f"{var_prefix}{p.name}", tv)
                if var is None:
                    inner.names[p.name] = TensorRef(f"{var_prefix}{p.name}", TVal.absent())
            self.stmts = []
            self.reached.add(block.name)
            result = self._body(block, inner)
            body_stmts = self.stmts
            if first_stmts is None:
                first_stmts = body_stmts
            if result is None:
                self.stmts = outer_stmts
                self._instance_stack.pop()
                return None
            values, ir = result
            if first_ir is None:
                first_ir = ir
            outputs = self._out_types(block.out_type, inner)
            if outputs is not None:
                where = ", ".join(f"{v.rsplit('.', 1)[-1]} = {d}" for v, d in binding.items())
                self._check_result(block, values, outputs,
                                   f"in instance `{prefix}`" + (f", where {where}" if where else ""))
            sub = dict(binding)
            if values[0].maybe_absent:  # reported by _check_result: the instance's users need not say it again
                values[0] = TVal(tuple(Alt(ERR_SHAPE, a.guard) if a.shape is None else a for a in values[0].alts))
            results.append(subst_tval(values[0], sub))
            for nname, ref in inner.names.items():
                if isinstance(ref, TensorRef):
                    node_alts.setdefault(nname, []).extend(subst_tval(ref.value, sub).alts)
        self._instance_stack.pop()
        for_inputs = [(f"{var_prefix}{p.name}", {"t": "absent"}) for p, val, var in tensor_args if var is None]
        self.stmts = outer_stmts + for_inputs + (first_stmts or [])
        out_var = f"{scope.var_prefix}{name}"
        self.stmts.append((out_var, first_ir))
        alts = simplify([a for r in results for a in r.alts], self.layout.n_options)
        nodes = {n: TensorRef(f"{var_prefix}{n}", TVal(simplify(a, self.layout.n_options)))
                 for n, a in node_alts.items()}
        inst = InstanceRef(name, var_prefix, nodes)
        inst.nodes[""] = TensorRef(out_var, TVal(alts))
        return inst


def subst_tval(v: TVal, binding: dict[str, Dim]) -> TVal:
    if not binding:
        return v
    return TVal(tuple(Alt(None if a.shape is None else a.shape if a.shape is ERR_SHAPE
                          else tuple(d.subst(binding) for d in a.shape), a.guard) for a in v.alts))
