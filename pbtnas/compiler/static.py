"""Static (compile-time) evaluation: expressions -> numbers, dimensions, names, genes and layer values.

`evaluate` turns an expression in a scope into a value the later passes use: a `Dim` (integers, possibly symbolic
in shape variables and numeric genes), a float, a name (str), a `GeneDef`, a list, or an unapplied layer (`OpL`,
`SeqL`, `SlotL`, ...). Op calls are bound to their signature here and every argument is checked and coerced to
its kind, so a layer value is always well formed. `shape` evaluates a shape type (`[C, 2 * H, W]`). Input: the
constants and blocks of the declarations pass, and a `Scope`; output: values. It writes nothing but diagnostics
(and marks the genes it reads as used).
"""

from __future__ import annotations

from typing import Any

from pbtnas.compiler import intargs
from pbtnas.compiler.conditions import const_cond
from pbtnas.compiler.ir import BAD, MAX_DIM, MAX_EXPONENT, MIXED, POISON, GeneDef, IdentityL, InstanceRef, NoneL, \
    OpL, ResidualL, Scope, SeqL, SlotL, TensorRef, flatten_seq, is_layer
from pbtnas.compiler.messages import OP_TEXT, Reporter, arg_expectation, fmt_dim, fmt_static, kind_name, signature, \
    suggest
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, DimError
from pbtnas.layers.ops import BOOL_FALSE, BOOL_TRUE, REQUIRED, OpSpec, get_op, op_names


class StaticEvaluator:
    def __init__(self, consts: dict[str, Any], blocks: dict[str, ast.BlockDecl], report: Reporter):
        self.consts, self.blocks, self.report = consts, blocks, report
        self.error = report.error  # every diagnostic goes through the one de-duplicating reporter

    def lookup(self, name: str, scope: Scope) -> Any:
        return scope.lookup(name, self.consts)

    def evaluate(self, expr: ast.Expr, scope: Scope) -> Any:
        """Evaluate a compile-time expression: Dim (ints, symbolic), float, str (a name), GeneDef or a layer."""
        if isinstance(expr, ast.Int):
            return Dim.const(expr.value)
        if isinstance(expr, ast.Float):
            return expr.value
        if isinstance(expr, ast.Str):
            return expr.value
        if isinstance(expr, ast.Neg):
            v = self.evaluate(expr.operand, scope)
            if isinstance(v, Dim):
                return -v
            if isinstance(v, float):
                return -v
            self.error("E0105", "`-` needs a number", expr.span)
            return None
        if isinstance(expr, ast.Name):
            v = self.lookup(expr.id, scope)
            if v is POISON:
                return None
            if v is not None:
                if isinstance(v, GeneDef):
                    v.used = True
                    if v.kind == "slot":
                        return SlotL(v, expr.span)
                if isinstance(v, (TensorRef, InstanceRef)):
                    self.error("E0105", f"`{expr.id}` is a tensor; a layer or value is needed here", expr.span,
                               hint="apply layers to tensors with `tensor >> layer`")
                    return None
                return v
            if expr.id in self.consts:
                return self.consts[expr.id]
            return self._layer_name(expr.id, [], expr.span, bare=True)
        if isinstance(expr, ast.Call):
            return self._layer_name(expr.fn, expr.args, expr.span, fn_span=expr.fn_span, scope=scope)
        if isinstance(expr, ast.BinOp):
            if expr.op == "pipe":
                left, right = self.evaluate(expr.left, scope), self.evaluate(expr.right, scope)
                if left is None or right is None:
                    return None
                if not is_layer(left) or not is_layer(right):
                    self.error("E0105", "`>>` composes layers (or applies one to a tensor)", expr.span)
                    return None
                return SeqL(flatten_seq(left) + flatten_seq(right))
            left, right = self.evaluate(expr.left, scope), self.evaluate(expr.right, scope)
            if left is None or right is None:
                return None
            return self._arith(expr, left, right)
        if isinstance(expr, ast.ListExpr):
            return [self.evaluate(e, scope) for e in expr.items]
        if isinstance(expr, ast.IfElse):  # `2 if stl_projections else 3`: a choice between values by constants
            fixed = const_cond(expr.cond, scope, self.consts, self.report)
            if fixed is None:
                return None
            if fixed is MIXED:
                self.error("E0105", "a value chosen by a gene or a tensor is not allowed here", expr.cond.span,
                           hint="conditions of values read constants only; choose between tensors instead")
                return None
            return self.evaluate(expr.expr if fixed else expr.other, scope)
        self.error("E0105", "this expression is not allowed here", expr.span,
                   hint="layers, numbers, names and arithmetic on dimensions are allowed in this position")
        return None

    def _arith(self, expr: ast.BinOp, left: Any, right: Any) -> Any:
        if isinstance(left, GeneDef) and left.numeric:
            left.used = True
            left = Dim.sym(left.symbol)
        if isinstance(right, GeneDef) and right.numeric:
            right.used = True
            right = Dim.sym(right.symbol)
        if isinstance(left, float) or isinstance(right, float):
            lf, rf = as_float(left), as_float(right)
            if lf is None or rf is None:
                self.error("E0105", f"`{expr.op}` needs numbers", expr.span)
                return None
            try:
                ops = {"add": lambda: lf + rf, "sub": lambda: lf - rf, "mul": lambda: lf * rf,
                       "div": lambda: lf / rf, "pow": lambda: lf ** rf, "floordiv": lambda: float(lf // rf),
                       "mod": lambda: lf % rf}
                value = ops[expr.op]()
            except ZeroDivisionError:
                self.error("E0105", "division by zero", expr.span)
                return None
            except OverflowError:
                self.error("E0105", f"`{OP_TEXT.get(expr.op, expr.op)}` overflows a float", expr.span)
                return None
            if isinstance(value, complex):  # a negative base to a fractional power
                self.error("E0105", "the result is not a real number", expr.span)
                return None
            return value
        if not isinstance(left, Dim) or not isinstance(right, Dim):
            self.error("E0105", f"`{OP_TEXT.get(expr.op, expr.op)}` needs numbers or dimensions", expr.span,
                       found=f"{kind_name(left)} and {kind_name(right)}")
            return None
        try:
            if expr.op == "add":
                return left + right
            if expr.op == "sub":
                return left - right
            if expr.op == "mul":
                return left * right
            if expr.op == "div":
                return left.truediv(right)
            if expr.op == "floordiv":
                return left.floordiv(right)
            if expr.op == "mod":
                return left.mod(right)
            if expr.op == "pow":
                # Dim.pow multiplies `exponent` times: a fuzzed `2 ** 10**30` would never return.
                if right.is_const and right.value > MAX_EXPONENT:
                    self.error("E0105", f"the exponent of `**` is {fmt_dim(right)}", expr.span,
                               expected=f"at most {MAX_EXPONENT}", found=fmt_dim(right))
                    return None
                return left.pow(right)
        except ZeroDivisionError:
            self.error("E0105", "division by zero", expr.span)
        except DimError as err:
            on_sizes = left.has_shape_vars or right.has_shape_vars
            self.error("E0215", f"`{OP_TEXT[expr.op]}` cannot be computed exactly: {err}", expr.span,
                       hint="arithmetic on genes and constants is exact; on shape variables only `+ - *`, `**` "
                            "with a constant exponent and division by a constant are" if on_sizes else
                            "change the expression or the gene's options")
        except ValueError as err:
            self.error("E0105", str(err), expr.span)
        return None

    def _layer_name(self, name: str, args: list[ast.Arg], span: Span, *, bare: bool = False,
                    fn_span: Span | None = None, scope: Scope | None = None) -> Any:
        scope = scope or Scope("", "", {})
        if name == "none":
            return NoneL(span)
        if name == "identity":
            return IdentityL(span)
        if name == "residual":
            if len(args) != 1 or args[0].name is not None:
                self.error("E0104", "`residual` takes exactly one layer: residual(body)", span)
                return None
            body = self.evaluate(args[0].value, scope)
            if body is None:
                return None
            if not is_layer(body):
                self.error("E0105", "`residual` takes a layer", args[0].span)
                return None
            return ResidualL(body, span)
        spec = get_op(name)
        if spec is None:
            if name in self.blocks:
                self.error("E0105", f"block `{name}` is instantiated with `name = {name}(...)`, not used as a layer",
                           span)
                return None
            known = list(self.consts) + list(scope.names) + op_names()
            self.error("E0101" if bare else "E0103",
                       f"undefined name `{name}`" if bare else f"unknown op `{name}`", fn_span or span,
                       hint=suggest(name, known) or ("see `pbtnas ops` for the op library" if not bare else None))
            return None
        return self._bind_op_args(spec, args, span, scope)

    def _bind_op_args(self, spec: OpSpec, args: list[ast.Arg], span: Span, scope: Scope) -> OpL | None:
        bound: dict[str, Any] = {}
        extra: list[Any] = []
        ok = True
        positional = [a for a in args if a.name is None]
        seen_kw = False
        for a in args:
            if a.name is not None:
                seen_kw = True
            elif seen_kw:
                self.error("E0104", "positional argument after a keyword argument", a.span)
                ok = False
        params = list(spec.args)
        for i, a in enumerate(positional):
            if i < len(params):
                bound[params[i].name] = (a, params[i])
            elif spec.varargs:
                extra.append(a)
            else:
                self.error("E0104", f"`{spec.name}` takes at most {len(params)} positional argument"
                           f"{'s' if len(params) != 1 else ''}", a.span, found=f"{len(positional)}",
                           expected=f"at most {len(params)}",
                           hint=f"signature: {signature(spec)}")
                ok = False
        by_name = {p.name: p for p in params}
        for a in args:
            if a.name is None:
                continue
            if a.name not in by_name:
                self.error("E0104", f"`{spec.name}` has no argument `{a.name}`", a.span,
                           hint=suggest(a.name, by_name) or f"signature: {signature(spec)}")
                ok = False
                continue
            if a.name in bound:
                self.error("E0104", f"argument `{a.name}` given twice", a.span)
                ok = False
                continue
            bound[a.name] = (a, by_name[a.name])
        values: dict[str, Any] = {}
        for p in params:
            if p.name not in bound:
                if p.default is REQUIRED:
                    self.error("E0104", f"`{spec.name}` needs argument `{p.name}`", span,
                               hint=f"signature: {signature(spec)}")
                    ok = False
                else:
                    values[p.name] = p.default
                continue
            a, _ = bound[p.name]
            v = self._check_arg(spec, p, a.value, scope)
            if v is BAD:
                ok = False
            else:
                values[p.name] = v
        if spec.varargs:
            dims = []
            for a in extra:
                v = self.evaluate(a.value, scope)
                if isinstance(v, GeneDef) and v.numeric:
                    v = Dim.sym(v.symbol)
                if not isinstance(v, Dim):
                    self.error("E0105", f"`{spec.name}` takes dimensions", a.span, found=kind_name(v))
                    ok = False
                else:
                    dims.append(v)
            values[spec.varargs] = dims
        return OpL(spec, values, span) if ok else None

    def _check_arg(self, spec: OpSpec, p, expr: ast.Expr, scope: Scope) -> Any:
        if p.kind in ("choice", "bool") and isinstance(expr, ast.Name) and self.lookup(expr.id, scope) is None:
            v: Any = expr.id  # a bare name is a literal here: mode=nearest, sn=on, kind=relu
        else:
            v = self.evaluate(expr, scope)
        if v is None:
            return BAD
        where = f"argument `{p.name}` of `{spec.name}`"
        if isinstance(v, GeneDef):
            v.used = True
            if p.kind == "dim":
                if not v.numeric:
                    self.error("E0105", f"{where} is a dimension, but gene `{v.name}` has non-integer options",
                               expr.span)
                    return BAD
                return Dim.sym(v.symbol)
            for opt in v.values:  # a gene argument must be valid for every option of the gene
                if self._coerce(p, opt) is BAD:
                    self.error("E0106", f"option `{opt}` of gene `{v.name}` is not a valid {where}", expr.span,
                               expected=arg_expectation(p), found=f"`{opt}`")
                    return BAD
            if p.kind == "int" and not intargs.check(Dim.sym(v.symbol), p.name, where, expr.span, self.report.error):
                return BAD  # [intargs] a gene's option below the argument's lowest value (`pad` = -1)
            return v
        out = self._coerce(p, v)
        if p.kind == "int" and isinstance(out, Dim) and \
                not intargs.check(out, p.name, where, expr.span, self.report.error):
            return BAD  # [intargs] `pad=(k - 1) // 2` is checked at every option of `k`
        if p.kind == "int" and isinstance(out, int) and \
                not intargs.check_constant(out, p.name, spec.name, where, expr.span, self.report.error):
            return BAD  # [intargs] `pad=-1`
        if p.kind == "dim" and isinstance(out, Dim) and not self._size_ok(out, expr.span, where):
            return BAD
        if out is BAD:
            if isinstance(v, SlotL) or is_layer(v):
                found = "a layer"
            else:
                found = f"`{fmt_static(v)}`"
            hint = None
            if isinstance(v, (OpL, NoneL, IdentityL)) and isinstance(expr, ast.Name) \
                    and expr.id not in scope.names and expr.id not in self.consts:
                # a bare op name where a value belongs (`linear(relu)`): most likely a misspelt name
                hint = suggest(expr.id, list(self.consts) + list(scope.names))
                found = f"`{expr.id}`"
                self.error("E0101", f"undefined name `{expr.id}`", expr.span, hint=hint)
                return BAD
            self.error("E0105", f"{where} has the wrong type", expr.span, expected=arg_expectation(p), found=found,
                       hint=hint)
        return out

    def _coerce(self, p, v: Any) -> Any:
        if p.kind == "dim":
            if isinstance(v, int) and not isinstance(v, bool):
                return Dim.const(v)
            return v if isinstance(v, Dim) and v.is_integral() else BAD
        if p.kind == "int":
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            if isinstance(v, Dim) and v.is_const and v.value.denominator == 1:
                return int(v.value)
            if (gene_expr := intargs.coerce(v)) is not None:  # [intargs] arithmetic on genes: `k=2 * k0 + 1`
                return gene_expr
            return BAD
        if p.kind == "float":
            f = as_float(v)
            return f if f is not None else BAD
        if p.kind == "bool":
            if isinstance(v, str) and (v in BOOL_TRUE or v in BOOL_FALSE):
                return v
            if isinstance(v, Dim) and v.is_const and v.value in (0, 1):
                return "on" if v.value == 1 else "off"
            if isinstance(v, OpL) and not v.args and v.spec.name in BOOL_TRUE | BOOL_FALSE:
                return v.spec.name
            return BAD
        if p.kind == "choice":
            name = v if isinstance(v, str) else (v.spec.name if isinstance(v, OpL) and not v.args else None)
            if isinstance(v, Dim) and v.is_const:
                name = str(v.int_value()) if v.value.denominator == 1 else None
            return name if name in p.choices else BAD
        return BAD

    def shape(self, t: ast.ShapeType, scope: Scope) -> tuple[Dim, ...] | None:
        dims = []
        for e in t.dims:
            v = self.evaluate(e, scope)
            if isinstance(v, GeneDef) and v.numeric:
                v.used = True
                v = Dim.sym(v.symbol)
            if isinstance(v, Dim) and not self.dims_ok((v,), e.span, "this shape dimension is {dim}"):
                return None
            if not isinstance(v, Dim):
                if v is not None:
                    if isinstance(e, ast.Name):
                        self.error("E0101", f"undefined name `{e.id}` in a shape", e.span,
                                   hint=suggest(e.id, list(self.consts) + list(scope.names))
                                   or "declare it with `const`, or list it as a shape variable: `block B[H, W](...)`")
                    else:
                        self.error("E0105", "a shape dimension must be an integer expression", e.span,
                                   found=kind_name(v))
                return None
            dims.append(v)
        return tuple(dims)

    def dims_ok(self, shape: tuple[Dim, ...], span: Span, what: str) -> bool:
        """Known dimensions must be positive machine ints: a constant set to 0, -1 or 10**30 would otherwise
        compile and fail only when torch allocates the layer (a crash in every worker, not a diagnostic)."""
        for d in shape:
            if d.is_const and (d.value <= 0 or d.value > MAX_DIM):
                self.error("E0214", what.format(dim=fmt_dim(d)), span,
                           expected=f"a positive size (1 to {MAX_DIM})", found=fmt_dim(d),
                           hint="check the constants this shape is computed from (and any `--set`)")
                return False
            if not self._size_ok(d, span, "the size"):
                return False
        return True

    def _size_ok(self, d: Dim, span: Span, what: str) -> bool:
        """A size computed from genes is a positive integer for every option of every gene it reads; else one
        diagnostic naming the first option that breaks it (shape variables are checked when they are bound)."""
        if d.has_shape_vars:
            return True
        if d.is_const:
            if d.value.denominator != 1:
                self.error("E0215", f"{what} is {fmt_dim(d)}, not an integer", span,
                           hint="use `//` for a whole number")
                return False
            return True
        try:
            for point, value in dims.points(d):
                bad = ("not an integer" if value.denominator != 1 else "not positive" if value <= 0
                       else "too large" if value > MAX_DIM else None)
                if bad is not None:
                    code = "E0215" if value.denominator != 1 else "E0214"
                    text = dims.number_text(value)
                    self.error(code, f"{what} is {text} when {dims.describe_point(point)}: {bad}", span,
                               expected=f"a positive integer (1 to {MAX_DIM}) for every option",
                               found=f"{fmt_dim(d)} = {text}",
                               hint="change the expression or the gene's options so that every option gives a "
                                    "positive whole number")
                    return False
        except DimError as err:
            self.error("E0215", f"{what} cannot be computed: {err}", span)
            return False
        return True


def as_float(v: Any) -> float | None:
    if isinstance(v, float):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, Dim) and v.is_const:
        return float(v.value)
    return None
