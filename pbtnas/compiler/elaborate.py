"""AST -> checked program: name resolution, symbolic shapes, interchangeability, genome layout, module paths.

The elaborator walks each network once. Block instances are expanded in place (each with its own genes and module
prefix); every slot's options are checked against the slot's interface with fresh symbols for its shape variables,
so "every option fits" is proven for all values of `H`, `W` and dimension genes. Tensors are tracked as guarded
alternatives (`guards.py`), so correlated conditions stay exact. Every user mistake becomes a diagnostic; checking
goes on after an error so that one pass reports them all.

The result is plain data (`Program`): genes in genome order and, per network, a list of statements in a small
JSON-able IR that `builder.py` specialises for one genome.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, DimError, shape_str
from pbtnas.compiler import intargs, picks, repetition, tensor_products, tying
from pbtnas.compiler.guards import Alt, Cube, TVal, simplify
from pbtnas.compiler.unreached import check_unreached, failed_statements
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Collector, Span
from pbtnas.layers.ops import BOOL_FALSE, BOOL_TRUE, INIT_KINDS, REQUIRED, RESERVED, OpSpec, ShapeError, get_op, \
    op_names

ERR_SHAPE: tuple[Dim, ...] = (Dim.sym("?error"),)
INIT_SCHEMES = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
                "normal", "uniform", "constant")


# ---- what the elaborator produces ---------------------------------------------------------------------------------

@dataclass(eq=False)
class GeneDef:
    name: str
    kind: str  # slot | param
    options: list[str]
    values: list[Any]
    span: Span
    index: int = -1
    none_options: frozenset[int] = frozenset()
    option_layers: list[Any] = field(default_factory=list)
    in_pattern: tuple[Dim, ...] = ()
    out_pattern: tuple[Dim, ...] = ()
    # (path, option index, symbolic input shape, op, shape args) of every op inside an option
    option_ops: list[tuple[str, int, tuple[Dim, ...], OpSpec, dict]] = field(default_factory=list)
    weighted_options: set[int] = field(default_factory=set)
    # divisibility the options' arithmetic assumes of the slot's shape variables (`H // 2`): checked per binding
    obligations: list[dims.Obligation] = field(default_factory=list)
    used: bool = False
    # tied genes (tying.py): a slot of one instance reads its leader, the genome's entry, which lists them all
    tied_to: "GeneDef | None" = None
    followers: list["GeneDef"] = field(default_factory=list)

    @property
    def numeric(self) -> bool:
        return self.kind == "param" and all(isinstance(v, int) and not isinstance(v, bool) for v in self.values)

    @property
    def symbol(self) -> str:
        return self.name


@dataclass
class OpRecord:
    """Every module path the program can create, with the shapes it was checked with."""

    path: str
    spec: OpSpec
    in_shapes: list[tuple[Dim, ...]] = field(default_factory=list)
    param_dims: list[tuple[Dim, ...]] = field(default_factory=list)
    slot: GeneDef | None = None
    span: Span | None = None
    option: int | None = None


@dataclass
class NetworkIR:
    name: str
    inputs: list[str]
    input_shapes: list[tuple[Dim, ...]]
    stmts: list[tuple[str, Any]]
    result: Any
    n_outputs: int
    output_shapes: list[list[tuple[Dim, ...]]]


@dataclass
class Program:
    space: str
    constants: dict[str, Any]
    genes: list[GeneDef]
    networks: list[NetworkIR]
    ops: dict[str, OpRecord]
    init: dict[str, tuple[str, dict]]
    tied_slots: list[GeneDef] = field(default_factory=list)  # followers of tied genes: their own layers


# ---- layer values (unapplied pipelines) -----------------------------------------------------------------------------

@dataclass
class OpL:
    spec: OpSpec
    args: dict[str, Any]
    span: Span


@dataclass
class SlotL:
    gene: GeneDef
    span: Span


@dataclass
class SeqL:
    items: list[Any]


@dataclass
class ResidualL:
    body: Any
    span: Span


@dataclass
class NoneL:
    span: Span


@dataclass
class IdentityL:
    span: Span


@dataclass
class TensorRef:
    var: str
    value: TVal


@dataclass
class InstanceRef:
    name: str
    var_prefix: str
    nodes: dict[str, TensorRef]


@dataclass
class Scope:
    prefix: str  # module path prefix, e.g. "generator.cell1"
    var_prefix: str  # IR variable prefix, e.g. "cell1/"
    names: dict[str, Any]
    binding: dict[str, Dim] = field(default_factory=dict)  # shape variables -> dims of this elaboration
    in_options: bool = False
    ties: tuple[tuple[str, str], ...] = ()  # tying.py: (instance prefix, tie prefix) of the enclosing tied instances


class _Counter:
    def __init__(self, base: str):
        self.base, self.n = base, 0

    def next(self) -> str:
        path = f"{self.base}.{self.n}"
        self.n += 1
        return path


def _suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean `{close[0]}`?" if close else None


def _value_name(v: Any) -> str:
    return str(v)


# The largest tensor dimension a space may declare or compute: torch indexes sizes with 64-bit ints, but a single
# dimension past 2**31 is never a real layer and only ends in an allocation failure.
MAX_DIM = 2**31 - 1
# `**` in shapes is for strides and channel growth (2 ** i); a bigger exponent is a typo, and Dim.pow's cost grows
# with it.
MAX_EXPONENT = 64
MAX_CONTEXT_CUBES = 64


def _fmt_dim(d: Dim) -> str:
    if not d.is_const:
        text = str(d)
        return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"
    v = d.value
    text = str(v.numerator) if v.denominator == 1 else str(v)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


class Elaborator:
    def __init__(self, module: ast.Module, overrides: dict[str, str], diag: Collector):
        self.module, self.overrides, self.diag = module, dict(overrides), diag
        self.space_name = "space"
        self.consts: dict[str, Any] = {}
        self.values: dict[str, list[Any]] = {}
        self.groups: dict[str, ast.OptionsDecl] = {}
        self.blocks: dict[str, ast.BlockDecl] = {}
        self.networks: list[ast.BlockDecl] = []
        self.init: dict[str, tuple[str, dict]] = {}
        self.genes: list[GeneDef] = []
        self.ops: dict[str, OpRecord] = {}
        self.n_options: dict[GeneDef, int] = {}
        self.stmts: list[tuple[str, Any]] = []
        self._instance_stack: list[str] = []
        self._seen_diags: set = set()
        self._option_index = -1
        self._gene_by_name: dict[str, GeneDef] = {}
        self._slot_bindings: set = set()
        self._shape_memo: dict = {}
        self._slot_templates: dict = {}
        self.domains: dict[str, tuple[int, ...]] = {}  # options of integer genes, for exact arithmetic on genes
        self.ties = tying.TieRegistry()
        # The guard under which the tensor expression being elaborated is used (`x >> down if downsample`): layers
        # skip input alternatives outside it, so an alternative the condition rules out is never checked.
        self._context: list[Cube] | None = None
        self.reached: set[str] = set()  # option groups and blocks the networks elaborated

    # -- diagnostics helpers ------------------------------------------------------------------------------------------
    def error(self, code: str, message: str, span: Span | None, **kw) -> None:
        key = (code, message, span)
        if key in self._seen_diags:  # the same body elaborated for several bindings reports once
            return
        self._seen_diags.add(key)
        self.diag.error(code, message, span, **kw)

    # -- entry -------------------------------------------------------------------------------------------------------
    def run(self) -> Program:
        with dims.gene_domains(self.domains):
            return self._run()

    def _run(self) -> Program:
        self._collect_declarations()
        for decl in self.networks:
            self._elaborate_network(decl)
        if not self.networks:
            # located at the top of the file, so editors and every other diagnostic have a place to point
            self.error("E0211", "the space declares no network", Span.point(1, 1),
                       hint="add `network NAME(x: [...]) -> [...] { ... }`")
        nets = [n for n in self._network_irs]
        self._check_ops()
        tied_slots = tying.finish(self)  # hook: tied genes
        check_unreached(self.module, self.reached, self.consts, self.values, self.error)
        error_spans = [d.span for d in self.diag.errors if d.span]
        hidden = failed_statements(self.module, error_spans, self.consts, self.values, self.error)
        for gene in self.genes:
            if not gene.used and not _use_hidden_by_error(gene, hidden):
                self.diag.warning("W0301", f"gene `{gene.name}` is declared but never used", gene.span,
                                  hint="remove it, or use it: an unused gene only inflates the space")
        return Program(self.space_name, dict(self.consts), self.genes, nets, self.ops, self.init, tied_slots)

    # -- top-level declarations -----------------------------------------------------------------------------------------
    def _collect_declarations(self) -> None:
        seen: dict[str, Span] = {}
        names_of_consts = {d.name for d in self.module.decls if isinstance(d, ast.ConstDecl)}
        for key in self.overrides:
            if key not in names_of_consts:
                self.error("E0110", f"`--set {key}=...` names no constant of this space", None,
                           found=f"`{key}`", expected="one of " + ", ".join(sorted(names_of_consts)) or "a constant",
                           hint=_suggest(key, names_of_consts))
        for decl in self.module.decls:
            name = getattr(decl, "name", None)
            if isinstance(decl, (ast.ConstDecl, ast.ValuesDecl, ast.OptionsDecl, ast.BlockDecl)):
                if name in seen:
                    self.error("E0102", f"`{name}` is defined twice", decl.span,
                               notes=(f"first defined at line {seen[name].line}",), hint="rename one of them")
                    continue
                if name in RESERVED or get_op(name) is not None:
                    self.error("E0102", f"`{name}` is the name of a built-in op", decl.span,
                               hint="choose another name")
                    continue
                seen[name] = decl.span
            if isinstance(decl, ast.SpaceDecl):
                self.space_name = decl.name
            elif isinstance(decl, ast.ConstDecl):
                self._const(decl)
            elif isinstance(decl, ast.ValuesDecl):
                self.values[decl.name] = self._literal_values(decl.values, decl.span)
            elif isinstance(decl, ast.InitDecl):
                self._init(decl)
            elif isinstance(decl, ast.OptionsDecl):
                self.groups[decl.name] = decl
            elif isinstance(decl, ast.BlockDecl):
                (self.networks if decl.is_network else []).append(decl)
                if not decl.is_network:
                    self.blocks[decl.name] = decl

    def _const(self, decl: ast.ConstDecl) -> None:
        if decl.name in self.overrides:
            raw = self.overrides[decl.name]
            value = parse_override_value(raw)
            if isinstance(decl.expr, ast.Name) and decl.expr.id not in self.consts:
                default: Any = decl.expr.id  # a name constant's default is its name, as below
            else:
                default = self._static(decl.expr, Scope("", "", {}))
            if default is not None and not _same_kind(default, value):
                self.error("E0110", f"`--set {decl.name}={raw}` has the wrong type", None,
                           found=_kind_name(value), expected=_kind_name(default),
                           hint=f"`{decl.name}` is declared at line {decl.span.line} as {_fmt_static(default)}")
                value = default
            self.consts[decl.name] = value
            return
        if isinstance(decl.expr, ast.Name) and decl.expr.id not in self.consts:
            value: Any = decl.expr.id  # `const mode = bilinear`: a name constant
        else:
            value = self._static(decl.expr, Scope("", "", {}))
        if _is_layer(value):
            self.error("E0105", f"constant `{decl.name}` must be a number or a name", decl.expr.span)
            value = None
        if isinstance(value, Dim):
            if not value.is_const:
                self.error("E0105", f"constant `{decl.name}` must be a number or a name", decl.expr.span)
                value = None
            elif value.value.denominator == 1:
                value = int(value.value)
            else:
                value = float(value.value)
        if value is not None:
            self.consts[decl.name] = value

    def _literal_values(self, values: list[ast.Value], span: Span) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if isinstance(v, ast.Int):
                out.append(v.value)
            elif isinstance(v, ast.Float):
                out.append(v.value)
            else:
                out.append(v.id)
        names = [str(v) for v in out]
        for i, n in enumerate(names):
            if n in names[:i]:
                self.error("E0102", f"option `{n}` is listed twice", span, hint="each option needs its own name")
        return out

    def _init(self, decl: ast.InitDecl) -> None:
        if decl.kind not in INIT_KINDS:
            self.error("E0106", f"`init {decl.kind}` names no layer kind", decl.span,
                       expected=", ".join(INIT_KINDS), found=f"`{decl.kind}`", hint=_suggest(decl.kind, INIT_KINDS))
            return
        if decl.scheme not in INIT_SCHEMES:
            self.error("E0106", f"unknown initialisation `{decl.scheme}`", decl.span,
                       expected=", ".join(INIT_SCHEMES), found=f"`{decl.scheme}`",
                       hint=_suggest(decl.scheme, INIT_SCHEMES))
            return
        args: dict[str, Any] = {}
        for a in decl.args:
            if a.name is None:
                self.error("E0104", "initialisation arguments are named (gain=, mean=, std=, bias=, a=, b=)", a.span)
                continue
            if isinstance(a.value, ast.Name) and a.value.id not in self.consts:
                v: Any = a.value.id  # gain=relu: a name torch's calculate_gain knows
                if a.name != "gain" or v not in ("relu", "tanh", "linear", "sigmoid", "leaky_relu", "selu"):
                    self.error("E0106", f"`{v}` is not a valid `{a.name}`", a.value.span,
                               hint="gains by name: relu, tanh, linear, sigmoid, leaky_relu, selu")
                    continue
            else:
                v = self._static(a.value, Scope("", "", {}))
                if isinstance(v, Dim):
                    v = float(v.value) if v.is_const else None
            if a.name not in ("gain", "mean", "std", "bias", "a", "b", "value"):
                self.error("E0104", f"initialisation has no argument `{a.name}`", a.span,
                           expected="gain, mean, std, bias, a, b or value")
                continue
            args[a.name] = v
        self.init[decl.kind] = (decl.scheme, args)

    # -- static (compile-time) expressions ---------------------------------------------------------------------------
    def _lookup(self, name: str, scope: Scope) -> Any:
        if name in scope.names:
            return scope.names[name]
        if name in self.consts:
            v = self.consts[name]
            return Dim.const(v) if isinstance(v, int) and not isinstance(v, bool) else v
        return None

    def _static(self, expr: ast.Expr, scope: Scope) -> Any:
        """Evaluate a compile-time expression: Dim (ints, symbolic), float, str (a name), GeneDef or a layer."""
        if isinstance(expr, ast.Int):
            return Dim.const(expr.value)
        if isinstance(expr, ast.Float):
            return expr.value
        if isinstance(expr, ast.Str):
            return expr.value
        if isinstance(expr, ast.Neg):
            v = self._static(expr.operand, scope)
            if isinstance(v, Dim):
                return -v
            if isinstance(v, float):
                return -v
            self.error("E0105", "`-` needs a number", expr.span)
            return None
        if isinstance(expr, ast.Name):
            v = self._lookup(expr.id, scope)
            if v is _POISON:
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
                left, right = self._static(expr.left, scope), self._static(expr.right, scope)
                if left is None or right is None:
                    return None
                if not _is_layer(left) or not _is_layer(right):
                    self.error("E0105", "`>>` composes layers (or applies one to a tensor)", expr.span)
                    return None
                return SeqL(_flatten_seq(left) + _flatten_seq(right))
            left, right = self._static(expr.left, scope), self._static(expr.right, scope)
            if left is None or right is None:
                return None
            return self._arith(expr, left, right)
        if isinstance(expr, ast.ListExpr):
            return [self._static(e, scope) for e in expr.items]
        if isinstance(expr, ast.IfElse):  # `2 if stl_projections else 3`: a choice between values by constants
            fixed = self._const_cond(expr.cond, scope)
            if fixed is None:
                return None
            if fixed is _MIXED:
                self.error("E0105", "a value chosen by a gene or a tensor is not allowed here", expr.cond.span,
                           hint="conditions of values read constants only; choose between tensors instead")
                return None
            return self._static(expr.expr if fixed else expr.other, scope)
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
            lf, rf = _as_float(left), _as_float(right)
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
                self.error("E0105", f"`{_OP_TEXT.get(expr.op, expr.op)}` overflows a float", expr.span)
                return None
            if isinstance(value, complex):  # a negative base to a fractional power
                self.error("E0105", "the result is not a real number", expr.span)
                return None
            return value
        if not isinstance(left, Dim) or not isinstance(right, Dim):
            self.error("E0105", f"`{_OP_TEXT.get(expr.op, expr.op)}` needs numbers or dimensions", expr.span,
                       found=f"{_kind_name(left)} and {_kind_name(right)}")
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
                    self.error("E0105", f"the exponent of `**` is {_fmt_dim(right)}", expr.span,
                               expected=f"at most {MAX_EXPONENT}", found=_fmt_dim(right))
                    return None
                return left.pow(right)
        except ZeroDivisionError:
            self.error("E0105", "division by zero", expr.span)
        except DimError as err:
            on_sizes = left.has_shape_vars or right.has_shape_vars
            self.error("E0215", f"`{_OP_TEXT[expr.op]}` cannot be computed exactly: {err}", expr.span,
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
            body = self._static(args[0].value, scope)
            if body is None:
                return None
            if not _is_layer(body):
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
                       hint=_suggest(name, known) or ("see `pbtnas ops` for the op library" if not bare else None))
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
                           hint=_suggest(a.name, by_name) or f"signature: {signature(spec)}")
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
            if v is _BAD:
                ok = False
            else:
                values[p.name] = v
        if spec.varargs:
            dims = []
            for a in extra:
                v = self._static(a.value, scope)
                if isinstance(v, GeneDef) and v.numeric:
                    v = Dim.sym(v.symbol)
                if not isinstance(v, Dim):
                    self.error("E0105", f"`{spec.name}` takes dimensions", a.span, found=_kind_name(v))
                    ok = False
                else:
                    dims.append(v)
            values[spec.varargs] = dims
        return OpL(spec, values, span) if ok else None

    def _check_arg(self, spec: OpSpec, p, expr: ast.Expr, scope: Scope) -> Any:
        if p.kind in ("choice", "bool") and isinstance(expr, ast.Name) and self._lookup(expr.id, scope) is None:
            v: Any = expr.id  # a bare name is a literal here: mode=nearest, sn=on, kind=relu
        else:
            v = self._static(expr, scope)
        if v is None:
            return _BAD
        where = f"argument `{p.name}` of `{spec.name}`"
        if isinstance(v, GeneDef):
            v.used = True
            if p.kind == "dim":
                if not v.numeric:
                    self.error("E0105", f"{where} is a dimension, but gene `{v.name}` has non-integer options",
                               expr.span)
                    return _BAD
                return Dim.sym(v.symbol)
            for opt in v.values:  # a gene argument must be valid for every option of the gene
                if self._coerce(p, opt) is _BAD:
                    self.error("E0106", f"option `{opt}` of gene `{v.name}` is not a valid {where}", expr.span,
                               expected=_arg_expectation(p), found=f"`{opt}`")
                    return _BAD
            if p.kind == "int" and not intargs.check(Dim.sym(v.symbol), p.name, where, expr.span, self.error):
                return _BAD  # [intargs] a gene's option below the argument's lowest value (`pad` = -1)
            return v
        out = self._coerce(p, v)
        if p.kind == "int" and isinstance(out, Dim) and not intargs.check(out, p.name, where, expr.span, self.error):
            return _BAD  # [intargs] `pad=(k - 1) // 2` is checked at every option of `k`
        if p.kind == "int" and isinstance(out, int) and \
                not intargs.check_constant(out, p.name, spec.name, where, expr.span, self.error):
            return _BAD  # [intargs] `pad=-1`
        if p.kind == "dim" and isinstance(out, Dim) and not self._size_ok(out, expr.span, where):
            return _BAD
        if out is _BAD:
            if isinstance(v, SlotL) or _is_layer(v):
                found = "a layer"
            else:
                found = f"`{_fmt_static(v)}`"
            hint = None
            if isinstance(v, (OpL, NoneL, IdentityL)) and isinstance(expr, ast.Name):
                hint = _suggest(expr.id, list(self.consts) + list(scope.names))
                found = f"`{expr.id}`"
                self.error("E0101", f"undefined name `{expr.id}`", expr.span, hint=hint)
                return _BAD
            self.error("E0105", f"{where} has the wrong type", expr.span, expected=_arg_expectation(p), found=found,
                       hint=hint)
        return out

    def _coerce(self, p, v: Any) -> Any:
        if p.kind == "dim":
            if isinstance(v, int) and not isinstance(v, bool):
                return Dim.const(v)
            return v if isinstance(v, Dim) and v.is_integral() else _BAD
        if p.kind == "int":
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            if isinstance(v, Dim) and v.is_const and v.value.denominator == 1:
                return int(v.value)
            if (gene_expr := intargs.coerce(v)) is not None:  # [intargs] arithmetic on genes: `k=2 * k0 + 1`
                return gene_expr
            return _BAD
        if p.kind == "float":
            f = _as_float(v)
            return f if f is not None else _BAD
        if p.kind == "bool":
            if isinstance(v, str) and (v in BOOL_TRUE or v in BOOL_FALSE):
                return v
            if isinstance(v, Dim) and v.is_const and v.value in (0, 1):
                return "on" if v.value == 1 else "off"
            if isinstance(v, OpL) and not v.args and v.spec.name in BOOL_TRUE | BOOL_FALSE:
                return v.spec.name
            return _BAD
        if p.kind == "choice":
            name = v if isinstance(v, str) else (v.spec.name if isinstance(v, OpL) and not v.args else None)
            if isinstance(v, Dim) and v.is_const:
                name = str(v.int_value()) if v.value.denominator == 1 else None
            return name if name in p.choices else _BAD
        return _BAD

    # -- networks and blocks -----------------------------------------------------------------------------------------
    @property
    def _network_irs(self) -> list[NetworkIR]:
        return self.__dict__.setdefault("_nets", [])

    def _elaborate_network(self, decl: ast.BlockDecl) -> None:
        scope = Scope(decl.name, "", {})
        inputs, input_shapes = [], []
        for p in decl.params:
            if p.kind != "tensor":
                self.error("E0105", f"network `{decl.name}` takes tensors only (`{p.name}: [dims]`)", p.span)
                continue
            shape = self._shape(p.shape, scope)
            if shape is None:
                scope.names[p.name] = _POISON  # reported; later uses of the input stay quiet
                continue
            if any(not d.is_const for d in shape):
                self.error("E0105", "network inputs have fixed sizes (constants only)", p.shape.span)
                scope.names[p.name] = _POISON
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
            self._network_irs.append(NetworkIR(decl.name, inputs, input_shapes, self.stmts, ir, n_out,
                                               [[s for s in alts] for alts in outputs]))

    def _out_types(self, t, scope: Scope) -> list[list[tuple[Dim, ...]]] | None:
        if isinstance(t, ast.TupleType):
            items = [self._out_types(u, scope) for u in t.items]
            if any(i is None for i in items):
                return None
            return [i[0] for i in items]
        alts = t.alternatives if isinstance(t, ast.UnionType) else [t]
        shapes = [self._shape(a, scope) for a in alts]
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
                           notes=tuple(self._when(a.guard) for a in value.alts if a.shape is None)[:3],
                           hint="give a fallback with `??`, e.g. `return sum(a, b) ?? x`")
                continue
            for shape in value.shapes:
                if shape is ERR_SHAPE:
                    continue
                if not any(_shape_eq(shape, d) for d in declared):
                    self.error("E0203", f"{kind} `{decl.name}` returns a shape it does not declare", decl.out_type.span,
                               found=shape_str(shape), expected=" | ".join(shape_str(d) for d in declared),
                               notes=(binding_note,) if binding_note else ())

    def _shape(self, t: ast.ShapeType, scope: Scope) -> tuple[Dim, ...] | None:
        dims = []
        for e in t.dims:
            v = self._static(e, scope)
            if isinstance(v, GeneDef) and v.numeric:
                v.used = True
                v = Dim.sym(v.symbol)
            if isinstance(v, Dim) and not self._dims_ok((v,), e.span, "this shape dimension is {dim}"):
                return None
            if not isinstance(v, Dim):
                if v is not None:
                    if isinstance(e, ast.Name):
                        self.error("E0101", f"undefined name `{e.id}` in a shape", e.span,
                                   hint=_suggest(e.id, list(self.consts) + list(scope.names))
                                   or "declare it with `const`, or list it as a shape variable: `block B[H, W](...)`")
                    else:
                        self.error("E0105", "a shape dimension must be an integer expression", e.span,
                                   found=_kind_name(v))
                return None
            dims.append(v)
        return tuple(dims)

    def _body(self, decl: ast.BlockDecl, scope: Scope) -> tuple[list[TVal], Any] | None:
        # Pass 1: genes are visible in the whole body (an option group may name a gene declared below it).
        gene_stmts: dict[str, GeneDef] = {}
        for stmt in decl.body:
            if isinstance(stmt, (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef)):
                if stmt.name in gene_stmts or stmt.name in scope.names:
                    self.error("E0102", f"`{stmt.name}` is declared twice in `{decl.name}`", stmt.span,
                               hint="each slot and param needs its own name")
                    continue
                gene = self._declare_gene(stmt, scope)
                if gene is not None:
                    gene_stmts[stmt.name] = gene
                    scope.names[stmt.name] = gene
                else:
                    scope.names[stmt.name] = _POISON  # reported; its uses stay quiet
        has_return = any(isinstance(s, ast.Return) for s in decl.body) or repetition.returns_inside(decl.body)
        assigned: dict[str, Span] = {}
        pending = {s.name: s.span for s in decl.body if isinstance(s, ast.Assign)}
        result = None
        for stmt in decl.body:
            if isinstance(stmt, (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef)):
                gene = gene_stmts.get(stmt.name)
                if gene is not None and gene.index < 0:
                    tying.lay_out(self, gene)  # hook: a tied gene is laid out once, at its first instance
                    if gene.kind == "slot":
                        self._elaborate_slot(gene, stmt, scope)
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
                self._assign(stmt, scope, pending)
                assigned[stmt.name] = stmt.span
                pending.pop(stmt.name, None)
            elif isinstance(stmt, ast.Pick):  # [picks] input selection: one gene over the k-combinations
                if stmt.name in assigned or stmt.name in gene_stmts:
                    self.error("E0102", f"`{stmt.name}` is defined twice in `{decl.name}`", stmt.span,
                               hint="a pick needs a name of its own")
                    continue
                picks.declare(self, stmt, scope, pending)
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
            r = self._tensor(item, scope, _Counter(f"{scope.prefix}.return"), pending)
            if r is None:
                return None
            vals.append(r[0])
            irs.append(r[1])
        ir = {"t": "tuple", "items": irs} if isinstance(expr, ast.TupleExpr) else irs[0]
        return vals, ir

    def _declare_gene(self, stmt, scope: Scope) -> GeneDef | None:
        name = f"{scope.prefix}.{stmt.name}"
        tied = tying.shared_name(self, stmt, scope)  # hook: a tied param is one gene; a tied slot follows one
        if tied is not None and isinstance(stmt, (ast.ParamInline, ast.ParamRef)):
            name = tied
        if name in self._gene_by_name:  # the same instance checked again for another input shape
            return self._gene_by_name[name]
        gene = self._new_gene(stmt, scope, name)
        if gene is not None:
            self._gene_by_name[name] = gene
            if tied is not None and gene.kind == "slot":
                tying.follow(self, gene, tied, stmt)
        return gene

    def _new_gene(self, stmt, scope: Scope, name: str) -> GeneDef | None:
        if isinstance(stmt, ast.ParamInline):
            values = self._literal_values(stmt.values, stmt.span)
        elif isinstance(stmt, ast.ParamRef):
            if stmt.values_name not in self.values:
                self.error("E0101", f"undefined value list `{stmt.values_name}`", stmt.values_span,
                           hint=_suggest(stmt.values_name, self.values) or "declare it with `values NAME = [...]`")
                return None
            values = list(self.values[stmt.values_name])
        elif isinstance(stmt, ast.SlotRef):
            group = self._group_for(stmt, scope)
            if group is None:
                return None
            values = [o.name for o in group.options]
            if not values:
                self.error("E0209", f"slot `{stmt.name}` has no options (group `{group.name}` is empty)", stmt.span)
                return None
            for i, o in enumerate(group.options):
                if o.name in values[:i]:
                    self.error("E0102", f"option `{o.name}` is listed twice in `{group.name}`", o.span)
            gene = GeneDef(name, "slot", [str(v) for v in values], values, stmt.span)
            self.n_options[gene] = len(values)
            return gene
        else:
            values = [o.name for o in stmt.options]
            if not values:
                self.error("E0209", f"slot `{stmt.name}` has no options", stmt.span,
                           hint="a slot needs at least one option; use `param` for a fixed choice")
                return None
            for i, o in enumerate(stmt.options):
                if o.name in values[:i]:
                    self.error("E0102", f"option `{o.name}` is listed twice in slot `{stmt.name}`", o.span)
            gene = GeneDef(name, "slot", list(values), list(values), stmt.span)
            self.n_options[gene] = len(values)
            return gene
        if not values:
            self.error("E0209", f"param `{stmt.name}` has no values", stmt.span)
            return None
        gene = GeneDef(name, "param", [_value_name(v) for v in values], values, stmt.span)
        self.n_options[gene] = len(values)
        if gene.numeric:
            self.domains[gene.symbol] = tuple(values)
        return gene

    def _group_for(self, stmt: ast.SlotRef, scope: Scope) -> ast.OptionsDecl | None:
        target = scope.names.get(stmt.group, stmt.group)
        if isinstance(target, ast.OptionsDecl):
            return target
        group = self.groups.get(target) if isinstance(target, str) else None
        if group is None:
            self.error("E0101", f"undefined option group `{stmt.group}`", stmt.group_span,
                       hint=_suggest(stmt.group, self.groups) or "declare it with `options NAME: [...] -> [...] {...}`")
        return group

    def _elaborate_slot(self, gene: GeneDef, stmt, scope: Scope) -> None:
        if isinstance(stmt, ast.SlotRef):
            group = self._group_for(stmt, scope)
            if group is None:
                return
            gscope = Scope(gene.name, scope.var_prefix, {}, in_options=True)
            for sv in group.shape_vars:
                gscope.names[sv.id] = Dim.sym(f"${sv.id}")
            if len(stmt.args) > len(group.params):
                self.error("E0104", f"option group `{group.name}` takes {len(group.params)} argument(s)", stmt.span,
                           found=str(len(stmt.args)), expected=str(len(group.params)))
            bound: dict[str, Any] = {}
            positional = [a for a in stmt.args if a.name is None]
            for p, a in zip(group.params, positional):
                bound[p.name] = a
            for a in stmt.args:
                if a.name is not None:
                    if a.name not in {p.name for p in group.params}:
                        self.error("E0104", f"option group `{group.name}` has no parameter `{a.name}`", a.span)
                    else:
                        bound[a.name] = a
            for p in group.params:
                if p.name not in bound:
                    self.error("E0104", f"option group `{group.name}` needs argument `{p.name}`", stmt.span)
                    return
                if p.kind == "options":
                    val = bound[p.name].value
                    gscope.names[p.name] = self.groups.get(val.id) if isinstance(val, ast.Name) else None
                    continue
                v = self._static(bound[p.name].value, scope)
                if v is None:
                    return
                if isinstance(v, GeneDef):
                    v.used = True
                gscope.names[p.name] = v
            in_type, out_type, options = group.in_type, group.out_type, group.options
            # Slots of the same group with the same arguments have the same options: check them once.
            template_key = (group.name, tuple((k, id(v) if isinstance(v, (GeneDef, ast.OptionsDecl)) else v)
                                              for k, v in gscope.names.items()))
            template = self._slot_templates.get(template_key)
            if template is not None:
                _copy_slot(template, gene)
                return
        else:
            template_key = None
            gscope = Scope(gene.name, scope.var_prefix, dict(scope.names), in_options=True)
            in_type, out_type, options = stmt.in_type, stmt.out_type, stmt.options
            # inline slots use the enclosing block's shape variables, but checked generically
            for k, v in list(gscope.names.items()):
                if isinstance(v, Dim) and v.as_single_symbol() == f"${scope.prefix}.{k}":
                    gscope.names[k] = Dim.sym(f"${k}")
        if isinstance(stmt, ast.SlotRef):
            self.reached.add(group.name)  # unreached.py checks the option groups never elaborated
        with dims.collect_obligations() as found:
            self._check_options(gene, stmt, gscope, in_type, out_type, options)
        gene.obligations = list(dict.fromkeys(found))
        if template_key is not None:
            self._slot_templates[template_key] = gene

    def _check_options(self, gene: GeneDef, stmt, gscope: Scope, in_type, out_type, options) -> None:
        ins, outs = self._shape(in_type, gscope), self._shape(out_type, gscope)
        if ins is None or outs is None:
            return
        gene.in_pattern, gene.out_pattern = ins, outs
        none_opts = set()
        for i, opt in enumerate(options):
            layer = self._static(opt.expr, gscope)
            if layer is None:
                gene.option_layers.append({"t": "none"})
                continue
            if not _is_layer(layer):
                self.error("E0105", f"option `{opt.name}` must be a layer", opt.expr.span,
                           found=f"`{_fmt_static(layer)}`",
                           hint="an option is a layer such as `relu >> conv(C, k=3, pad=1)` or `none`")
                gene.option_layers.append({"t": "none"})
                continue
            n_before = len(gene.option_ops)
            self._option_index = i
            out, ir = self._apply(layer, TVal.present(ins), _Counter(gene.name), gscope, record=gene)
            gene.option_layers.append(ir)
            if any(o[3].param_dims(o[2], o[4]) for o in gene.option_ops[n_before:]):
                gene.weighted_options.add(i)
            if out.always_absent:
                none_opts.add(i)
                continue
            if out.maybe_absent:
                self.error("E0204", f"option `{opt.name}` of slot `{stmt.name}` is absent only sometimes",
                           opt.expr.span, hint="an option is either `none` or always produces a tensor")
                continue
            for shape in out.shapes:
                if shape is ERR_SHAPE:
                    continue
                if not _shape_eq(shape, outs):
                    self.error("E0201", f"option `{opt.name}` of slot `{stmt.name}` does not match the slot interface",
                               opt.span, found=shape_str(shape), expected=shape_str(outs),
                               notes=(f"the slot maps {shape_str(ins)} -> {shape_str(outs)}; every option must "
                                      f"produce that output for every value of its shape variables",),
                               hint=_shape_hint(shape, outs))
        gene.none_options = frozenset(none_opts)

    def _assign(self, stmt: ast.Assign, scope: Scope, pending) -> None:
        expr = stmt.expr
        if stmt.tied is not None and not (isinstance(expr, ast.Call) and expr.fn in self.blocks):
            tying.not_an_instance(self, stmt)  # hook: `tied` on an expression
        if isinstance(expr, ast.Call) and expr.fn in self.blocks:
            inst = self._instance(stmt.name, expr, scope, pending, stmt.tied)
            scope.names[stmt.name] = inst if inst is not None else _POISON  # a failed instance was reported
            return
        r = self._tensor(expr, scope, _Counter(f"{scope.prefix}.{stmt.name}"), pending)
        if r is None:
            scope.names[stmt.name] = TensorRef(scope.var_prefix + stmt.name, TVal.present(ERR_SHAPE))
            return
        value, ir = r
        var = scope.var_prefix + stmt.name
        self.stmts.append((var, ir))
        scope.names[stmt.name] = TensorRef(var, value)

    # -- block instances ---------------------------------------------------------------------------------------------
    def _instance(self, name: str, call: ast.Call, scope: Scope, pending, tied: str | None = None
                  ) -> InstanceRef | None:
        block = self.blocks[call.fn]
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
                           hint=_suggest(a, params) or f"its parameters: {', '.join(params) or 'none'}")
        prefix = f"{scope.prefix}.{name}"
        var_prefix = f"{scope.var_prefix}{name}/"
        base = Scope(prefix, var_prefix, {}, ties=tying.enter_instance(self, scope, call.fn, name, tied, call.span))
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
                r = self._tensor(a.value, scope, _Counter(f"{scope.prefix}.{name}.{p.name}"), pending)
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
                    group = self.groups.get(gname) if gname else None
                    if group is None:
                        self.error("E0101", f"`{p.name}` needs an option group", a.value.span,
                                   hint=_suggest(gname or "", self.groups))
                        return None
                    base.names[p.name] = group
                    continue
                v = self._static(a.value, scope)
                if v is None:
                    return None
                base.names[p.name] = v
        # Bind shape variables for each combination of input alternatives.
        bindings: list[tuple[dict[str, Dim], dict[str, TVal]]] = []
        per_input = []
        for p, val, var in tensor_args:
            pattern = self._shape(p.shape, base)
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
                if not _unify(pattern, alt.shape, binding):
                    self.error("E0202", f"`{p.name}` of block `{call.fn}` does not fit its declared shape",
                               args[p.name].span, found=shape_str(alt.shape), expected=shape_str(pattern),
                               hint=_shape_hint(alt.shape, pattern))
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
                               call.span, hint="the input size must be divisible by every stride inside the block")
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
                    pattern = self._shape(p.shape, inner)
                    presence = {a.shape is not None for a in alts}
                    tv = TVal(tuple(Alt(pattern if present else None, Cube()) for present in sorted(presence)))
                else:
                    tv = TVal.absent()
                inner.names[p.name] = TensorRef(var or f"{var_prefix}{p.name}", tv)
                if var is None:
                    inner.names[p.name] = TensorRef(f"{var_prefix}{p.name}", TVal.absent())
            self.stmts = []
            self.reached.add(block.name)  # unreached.py checks the blocks never elaborated
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
            results.append(_subst_tval(values[0], sub))
            for nname, ref in inner.names.items():
                if isinstance(ref, TensorRef):
                    node_alts.setdefault(nname, []).extend(_subst_tval(ref.value, sub).alts)
        self._instance_stack.pop()
        for_inputs = [(f"{var_prefix}{p.name}", {"t": "absent"}) for p, val, var in tensor_args if var is None]
        self.stmts = outer_stmts + for_inputs + (first_stmts or [])
        out_var = f"{scope.var_prefix}{name}"
        self.stmts.append((out_var, first_ir))
        alts = simplify([a for r in results for a in r.alts], self.n_options)
        nodes = {n: TensorRef(f"{var_prefix}{n}", TVal(simplify(a, self.n_options))) for n, a in node_alts.items()}
        inst = InstanceRef(name, var_prefix, nodes)
        inst.nodes[""] = TensorRef(out_var, TVal(alts))
        return inst

    # -- tensor expressions ------------------------------------------------------------------------------------------
    def _tensor(self, expr: ast.Expr, scope: Scope, counter: _Counter, pending) -> tuple[TVal, Any] | None:
        if isinstance(expr, ast.Index) and isinstance(scope.names.get(expr.base), picks.PickRef):
            return picks.select(self, scope.names[expr.base], expr, scope)  # [picks] `inputs[0]`
        if isinstance(expr, ast.Index) and scope.names.get(expr.base) is _POISON:
            return None  # [picks] a pick whose declaration failed (reported)
        if isinstance(expr, ast.Index):  # hook: `c[i - 1]`, an indexed node
            return repetition.read(self, expr, scope)
        if isinstance(expr, ast.Attr) and isinstance(expr.obj, ast.Index):  # hook: `c[0].node`
            return repetition.read(self, expr.obj, scope, expr.name, expr.span)
        if isinstance(expr, ast.Name):
            v = scope.names.get(expr.id)
            if v is _POISON:
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
            if v is not None or expr.id in self.consts:
                self.error("E0105", f"`{expr.id}` is not a tensor", expr.span,
                           hint="apply a layer to a tensor with `tensor >> layer`")
                return None
            self.error("E0101", f"undefined name `{expr.id}`", expr.span,
                       hint=_suggest(expr.id, [k for k, x in scope.names.items()
                                               if isinstance(x, (TensorRef, InstanceRef))]))
            return None
        if isinstance(expr, ast.Attr):
            if isinstance(expr.obj, ast.Name) and scope.names.get(expr.obj.id) is _POISON:
                return None
            if isinstance(expr.obj, ast.Name) and isinstance(scope.names.get(expr.obj.id), InstanceRef):
                inst = scope.names[expr.obj.id]
                ref = inst.nodes.get(expr.name)
                if ref is None:
                    self.error("E0101", f"block instance `{inst.name}` has no node `{expr.name}`", expr.span,
                               hint=_suggest(expr.name, [n for n in inst.nodes if n]))
                    return None
                return ref.value, {"t": "var", "name": ref.var}
            self.error("E0105", "`.` reads a node of a block instance, e.g. `cell1.skip`", expr.span)
            return None
        if isinstance(expr, ast.BinOp) and expr.op == "pipe":
            left = self._tensor_or_none(expr.left, scope, counter, pending)
            if left is None:
                return None
            layer = self._static(expr.right, scope)
            if layer is None:
                return None
            if not _is_layer(layer):
                self.error("E0105", "the right side of `>>` must be a layer", expr.right.span,
                           found=f"`{_fmt_static(layer)}`")
                return None
            out, lir = self._apply(layer, left[0], counter, scope)
            return out, {"t": "apply", "layer": lir, "x": left[1]}
        if isinstance(expr, ast.Call) and expr.fn in ("sum", "cat"):
            items = []
            for a in expr.args:
                if a.name is not None:
                    self.error("E0104", f"`{expr.fn}` takes tensors only", a.span)
                    return None
                r = self._tensor(a.value, scope, counter, pending)
                if r is None:
                    return None
                items.append(r)
            if not items:
                self.error("E0104", f"`{expr.fn}` needs at least one tensor", expr.span)
                return None
            return self._combine(expr.fn, items, expr.span)
        if isinstance(expr, ast.Call):
            g = scope.names.get(expr.fn)
            if g is _POISON:
                return None
            if isinstance(g, GeneDef) and g.kind == "slot":
                if len(expr.args) != 1 or expr.args[0].name is not None:
                    self.error("E0104", f"slot `{expr.fn}` applies to one tensor: `{expr.fn}(x)`", expr.span)
                    return None
                r = self._tensor(expr.args[0].value, scope, counter, pending)
                if r is None:
                    return None
                g.used = True
                out, lir = self._apply(SlotL(g, expr.span), r[0], counter, scope)
                return out, {"t": "apply", "layer": lir, "x": r[1]}
            if expr.fn in self.blocks:
                self.error("E0105", f"instantiate block `{expr.fn}` on its own line: `name = {expr.fn}(...)`",
                           expr.span, hint="each instance needs a name: it prefixes its genes and weights")
                return None
            if get_op(expr.fn) is not None:
                self.error("E0105", f"apply op `{expr.fn}` with `>>`: `x >> {expr.fn}(...)`", expr.span)
                return None
            self.error("E0103", f"unknown function `{expr.fn}`", expr.fn_span,
                       hint=_suggest(expr.fn, ["sum", "cat", *self.blocks]))
            return None
        if isinstance(expr, ast.BinOp) and expr.op == "mul":
            return tensor_products.product(self, expr, scope, counter, pending)  # [products] `x * gate`
        if isinstance(expr, ast.BinOp) and expr.op in ("add", "otherwise"):
            left = self._tensor(expr.left, scope, counter, pending)
            right = self._tensor(expr.right, scope, counter, pending)
            if left is None or right is None:
                return None
            if expr.op == "add":
                for side, sp in ((left, expr.left.span), (right, expr.right.span)):
                    if side[0].maybe_absent:
                        self.error("E0204", "an operand of `+` may be absent", sp,
                                   notes=tuple(self._when(a.guard) for a in side[0].alts if a.shape is None)[:2],
                                   hint="use `sum(a, b)`, which leaves absent terms out")
                return self._combine("add", [left, right], expr.span)
            alts: list[Alt] = [a for a in left[0].alts if a.shape is not None]
            for a in left[0].alts:
                if a.shape is None:
                    for b in right[0].alts:
                        g = a.guard & b.guard
                        if g is not None:
                            alts.append(Alt(b.shape, g))
            return TVal(simplify(alts, self.n_options)), {"t": "otherwise", "a": left[1], "b": right[1]}
        if isinstance(expr, (ast.When, ast.IfElse)):
            fixed = self._const_cond(expr.cond, scope)
            if fixed is None:
                return None
            if fixed is not _MIXED:
                # A condition on constants alone is decided here: only the chosen branch is elaborated, so the other
                # creates no modules (a layout selected by `--set` has exactly its own weights, not a dead copy).
                if fixed:
                    return self._tensor(expr.expr, scope, counter, pending)
                if isinstance(expr, ast.IfElse):
                    return self._tensor(expr.other, scope, counter, pending)
                return TVal.absent(), {"t": "absent"}
            cond = self._cond(expr.cond, scope)
            then = self._within(cond[0] if cond else None, lambda: self._tensor(expr.expr, scope, counter, pending))
            other = self._within(cond[1] if cond else None,
                                 lambda: self._tensor(expr.other, scope, counter, pending)) \
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
            return TVal(simplify(alts, self.n_options)), ir
        if isinstance(expr, ast.TupleExpr):
            self.error("E0105", "a tuple can only be returned by a network", expr.span)
            return None
        if isinstance(expr, (ast.Int, ast.Float, ast.Str)):
            self.error("E0105", "a tensor is needed here, not a constant", expr.span)
            return None
        if isinstance(expr, ast.BinOp):
            self.error("E0105", f"`{_OP_TEXT.get(expr.op, expr.op)}` is not defined on tensors", expr.span,
                       hint="tensors combine with `+`, `*`, `sum(...)`, `cat(...)` and `??`")
            return None
        self.error("E0105", "a tensor is needed here", expr.span)
        return None

    def _tensor_or_none(self, expr, scope, counter, pending):
        return self._tensor(expr, scope, counter, pending)

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
                if any(len(s) != len(shapes[0]) or not _shape_eq(s[1:], shapes[0][1:]) for s in shapes):
                    if not reported:
                        self.error("E0205", "`cat` joins tensors that differ only in their first dimension", span,
                                   found=", ".join(shape_str(s) for s in shapes), notes=(self._when(guard),))
                        reported = True
                    alts.append(Alt(ERR_SHAPE, guard))
                    continue
                total = shapes[0][0]
                for s in shapes[1:]:
                    total = total + s[0]
                alts.append(Alt((total, *shapes[0][1:]), guard))
                continue
            if any(not _shape_eq(s, shapes[0]) for s in shapes):
                if not reported:
                    self.error("E0205", f"`{'+' if kind == 'add' else 'sum'}` of tensors with different shapes", span,
                               found=" and ".join(shape_str(s) for s in dict.fromkeys(shapes)),
                               expected="equal shapes", notes=(self._when(guard),),
                               hint="resize one side first (a 1x1 conv for channels, a pool or upsample for size)")
                    reported = True
                alts.append(Alt(ERR_SHAPE, guard))
                continue
            alts.append(Alt(shapes[0], guard))
        if not alts:
            alts = [Alt(ERR_SHAPE, Cube())]
        return TVal(simplify(alts, self.n_options))

    def _when(self, guard: Cube) -> str:
        parts = []
        for gene, allowed in sorted(guard.items, key=lambda t: t[0].name):
            opts = [gene.options[i] for i in sorted(allowed)]
            parts.append(f"{gene.name} in [{', '.join(opts)}]" if len(opts) > 1 else f"{gene.name} = {opts[0]}")
        return "when " + " and ".join(parts) if parts else "for every genome"

    # -- conditions --------------------------------------------------------------------------------------------------
    def _const_value(self, name: str, scope: Scope) -> Any:
        """The value of `name` when it is a constant (or a block parameter bound to one), else _MIXED."""
        v = self._lookup(name, scope)
        if isinstance(v, Dim) and v.is_const:
            return int(v.value) if v.value.denominator == 1 else float(v.value)
        if isinstance(v, (str, float)) and not isinstance(v, bool):
            return v
        return _MIXED

    def _const_cond(self, c: ast.Cond, scope: Scope) -> Any:
        """True/False when `c` reads constants only, _MIXED when it reads a gene or a tensor, None on an error."""
        if isinstance(c, ast.CondNot):
            a = self._const_cond(c.operand, scope)
            return a if a is None or a is _MIXED else not a
        if isinstance(c, ast.CondBool):
            a, b = self._const_cond(c.left, scope), self._const_cond(c.right, scope)
            if a is None or b is None:
                return None
            if a is _MIXED or b is _MIXED:
                return _MIXED
            return (a and b) if c.op == "and" else (a or b)
        if getattr(c, "index", None) is not None:  # [picks] a pick's choice is decided per genome
            return _MIXED
        value = self._const_value(c.name, scope)
        if value is _MIXED:
            return _MIXED
        if isinstance(c, ast.CondName):
            text = str(value).lower()
            if text in BOOL_TRUE or text == "1":
                return True
            if text in BOOL_FALSE or text == "0":
                return False
            self.error("E0213", f"constant `{c.name}` is not on/off", c.span, found=f"`{value}`",
                       expected="on or off", hint=f"set it with `--set {c.name}=on` or `=off`, or compare it: "
                                                  f"`{c.name} == value`")
            return None
        values = c.values if isinstance(c, ast.CondIn) else [c.value]
        wanted = {v.id if isinstance(v, ast.Name) else v.value for v in values}
        hit = value in wanted or str(value) in {str(w) for w in wanted}
        return (not hit) if isinstance(c, ast.CondEq) and c.negate else hit

    def _cond(self, c: ast.Cond, scope: Scope) -> tuple[list[Cube], list[Cube], Any] | None:
        if isinstance(c, ast.CondBool):
            a, b = self._cond(c.left, scope), self._cond(c.right, scope)
            if a is None or b is None:
                return None
            conj = lambda xs, ys: [g for x in xs for y in ys if (g := x & y) is not None]  # noqa: E731
            if c.op == "and":
                return conj(a[0], b[0]), a[1] + b[1], {"t": "and", "a": a[2], "b": b[2]}
            return a[0] + b[0], conj(a[1], b[1]), {"t": "or", "a": a[2], "b": b[2]}
        if isinstance(c, ast.CondNot):
            a = self._cond(c.operand, scope)
            return None if a is None else (a[1], a[0], {"t": "not", "a": a[2]})
        target = scope.names.get(c.name)
        if target is _POISON:
            return None
        if getattr(c, "index", None) is not None:  # [picks] `inputs[0] in [s0, s1]`
            return picks.condition(self, c, target, scope)
        if isinstance(target, picks.PickRef):  # [picks] `inputs in [s0_s1]`: the pick's gene itself
            target = target.gene
        fixed = self._const_cond(c, scope)
        if fixed is None:
            return None
        if fixed is not _MIXED:  # a constant beside genes in `and`/`or`: true or false for every genome
            return ([Cube()], [], {"t": "const", "value": True}) if fixed else \
                ([], [Cube()], {"t": "const", "value": False})
        if isinstance(c, ast.CondName) and isinstance(target, (TensorRef, InstanceRef)):
            ref = target if isinstance(target, TensorRef) else target.nodes[""]
            t = [a.guard for a in ref.value.alts if a.shape is not None]
            f = [a.guard for a in ref.value.alts if a.shape is None]
            return t, f, {"t": "present", "var": ref.var}
        if not isinstance(target, GeneDef):
            self.error("E0101", f"`{c.name}` in a condition must be a gene (slot or param) or a tensor", c.span,
                       hint=_suggest(c.name, [k for k, v in scope.names.items() if isinstance(v, GeneDef)]))
            return None
        target.used = True
        gene = tying.genome_gene(target)  # hook: a condition on a tied slot reads the genome's gene
        gene.used = True
        n = len(gene.options)
        if isinstance(c, ast.CondName):
            lowered = [o.lower() for o in gene.options]
            if n != 2 or not (lowered[1] in BOOL_TRUE or lowered[1] == "1") or \
                    not (lowered[0] in BOOL_FALSE or lowered[0] == "0"):
                self.error("E0213", f"`{gene.name}` is not an on/off gene", c.span,
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
                    self.error("E0106", f"`{name}` is not an option of `{gene.name}`", v.span,
                               expected="one of " + ", ".join(gene.options), hint=_suggest(name, gene.options))
                    return None
                chosen.add(gene.options.index(name))
            if isinstance(c, ast.CondEq) and c.negate:
                chosen = set(range(n)) - chosen
        t = [x] if (x := Cube.of(gene, chosen, n)) is not None else []
        f = [x] if (x := Cube.of(gene, set(range(n)) - chosen, n)) is not None else []
        return t, f, {"t": "gene_in", "gene": gene, "options": sorted(chosen)}

    # -- applying layers ---------------------------------------------------------------------------------------------
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

    def _apply(self, layer: Any, x: TVal, counter: _Counter, scope: Scope,
               record: GeneDef | None = None) -> tuple[TVal, Any]:
        x = self._feasible(x)
        if isinstance(layer, SeqL):
            irs = []
            for item in layer.items:
                x, ir = self._apply(item, x, counter, scope, record)
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
            out, body_ir = self._apply(layer.body, x, _Counter(path), scope, record)
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
                        and not _shape_eq(a.shape, b.shape):
                    self.error("E0206", "the body of `residual` must keep the shape of its input", layer.span,
                               found=shape_str(b.shape), expected=shape_str(a.shape))
            return x, {"t": "residual", "body": body_ir}
        if isinstance(layer, SlotL):
            return self._apply_slot(layer, x, counter, scope)
        assert isinstance(layer, OpL)
        path = counter.next()
        rec = None
        if record is None:
            rec = self.ops.setdefault(path, OpRecord(path, layer.spec, span=layer.span))
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
            if not self._dims_ok(tuple(d.subst(scope.binding) for d in out), layer.span,
                                 f"`{layer.spec.name}` would output a dimension of {{dim}}"):
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            concrete_in = tuple(d.subst(scope.binding) for d in a.shape)
            if record is not None:
                record.option_ops.append((path, self._option_index, a.shape, layer.spec, shape_args))
            else:
                rec.in_shapes.append(concrete_in)
                rec.param_dims.append(tuple(layer.spec.param_dims(concrete_in, shape_args)))
            alts.append(Alt(out, a.guard))
        ir = {"t": "op", "path": path, "op": layer.spec.name, "args": layer.args}
        return TVal(simplify(alts, self.n_options)), ir

    def _dims_ok(self, shape: tuple[Dim, ...], span: Span, what: str) -> bool:
        """Known dimensions must be positive machine ints: a constant set to 0, -1 or 10**30 would otherwise
        compile and fail only when torch allocates the layer (a crash in every worker, not a diagnostic)."""
        for d in shape:
            if d.is_const and (d.value <= 0 or d.value > MAX_DIM):
                self.error("E0214", what.format(dim=_fmt_dim(d)), span,
                           expected=f"a positive size (1 to {MAX_DIM})", found=_fmt_dim(d),
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
                self.error("E0215", f"{what} is {_fmt_dim(d)}, not an integer", span,
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
                               found=f"{_fmt_dim(d)} = {text}",
                               hint="change the expression or the gene's options so that every option gives a "
                                    "positive whole number")
                    return False
        except DimError as err:
            self.error("E0215", f"{what} cannot be computed: {err}", span)
            return False
        return True

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

    def _apply_slot(self, layer: SlotL, x: TVal, counter: _Counter, scope: Scope) -> tuple[TVal, Any]:
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
            if not _unify(gene.in_pattern, a.shape, binding):
                self.error("E0202", f"slot `{gene.name.rsplit('.', 1)[-1]}` cannot take this input", layer.span,
                           found=shape_str(a.shape), expected=shape_str(gene.in_pattern),
                           hint=_shape_hint(a.shape, gene.in_pattern))
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            if not self._obligations_hold(gene, binding, layer.span):
                alts.append(Alt(ERR_SHAPE, a.guard))
                continue
            seen_key = (gene.name, tuple(sorted(binding.items())))
            if seen_key not in self._slot_bindings:  # a slot reused with the same input records its ops once
                self._slot_bindings.add(seen_key)
                memo: dict[Dim, Dim] = {}
                sub = lambda d: memo[d] if d in memo else memo.setdefault(d, d.subst(binding))  # noqa: E731
                for path, option, sym_in, spec, args in gene.option_ops:
                    concrete = tuple(sub(d) for d in sym_in)
                    cargs = {k: (sub(v) if isinstance(v, Dim) else v) for k, v in args.items()}
                    rec = self.ops.setdefault(f"{path}#{option}", OpRecord(path, spec, slot=gene, option=option))
                    rec.in_shapes.append(concrete)
                    rec.param_dims.append(tuple(spec.param_dims(concrete, cargs)))
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
        return TVal(simplify(alts, self.n_options)), ir

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
            when = f" when {dims.describe_point(point)}" if point else ""
            text = str(ob.dim) if ob.dim.as_single_symbol() else f"({ob.dim})"
            self.error("E0212", f"slot `{gene.name.rsplit('.', 1)[-1]}` needs `{ob.dim}` to be divisible by "
                       f"{ob.divisor} (it computes `{text} {ob.op} {ob.divisor}`), but {names}{when}", span,
                       hint="give the slot an input whose size is divisible by every stride inside it")
            return False
        return True

    # -- whole-program checks ----------------------------------------------------------------------------------------
    def _check_ops(self) -> None:
        for path, rec in self.ops.items():
            distinct = list(dict.fromkeys(rec.param_dims))
            if len(distinct) > 1:
                self.error("E0208", f"the weights of `{path}` would change shape between genomes", rec.span,
                           found=" vs ".join(shape_str(d) for d in distinct[:3]),
                           hint="the layer's input size varies with other genes; make it fixed before this layer "
                                "(e.g. a global pool) or declare the dimension as a gene")
            for dims in distinct:
                for d in dims:
                    stray = {s for s in d.symbols if s.startswith("$")}
                    if stray:
                        self.error("E0208", f"the weights of `{path}` depend on the shape variable "
                                   f"`{sorted(stray)[0].rsplit('.', 1)[-1]}`", rec.span,
                                   hint="layers inside a generic block can only size their weights by constants "
                                        "and genes")
                        break


def _use_hidden_by_error(gene: GeneDef, hidden: set[str]) -> bool:
    """The gene is read by a statement that failed: its use was not seen, so W0301 would be a false alarm."""
    return gene.name.rsplit(".", 1)[-1] in hidden


def _copy_slot(template: GeneDef, gene: GeneDef) -> None:
    """Give `gene` the checked options of `template`, with module paths moved under `gene`'s name."""
    old, new = template.name, gene.name

    def rename(path: str) -> str:
        return new + path[len(old):] if path == old or path.startswith(old + ".") else path

    def copy_ir(node: Any) -> Any:
        if type(node) is dict:
            return {k: (rename(v) if k == "path" else v if k == "args" else copy_ir(v)) for k, v in node.items()}
        if type(node) is list:
            return [copy_ir(x) for x in node]
        return node

    gene.in_pattern, gene.out_pattern = template.in_pattern, template.out_pattern
    gene.none_options = template.none_options
    gene.weighted_options = set(template.weighted_options)
    gene.obligations = list(template.obligations)
    gene.option_ops = [(rename(p), o, shape, spec, args) for p, o, shape, spec, args in template.option_ops]
    gene.option_layers = [copy_ir(ir) for ir in template.option_layers]


_BAD = object()
_POISON = object()  # a name whose declaration failed (already reported): its uses report nothing more
_MIXED = object()  # a condition that reads a gene or a tensor: decided per genome, not at compile time
_OP_TEXT = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "pow": "**", "pipe": ">>",
            "otherwise": "??"}


def _is_layer(v: Any) -> bool:
    return isinstance(v, (OpL, SeqL, SlotL, ResidualL, NoneL, IdentityL))


def _flatten_seq(v: Any) -> list[Any]:
    return list(v.items) if isinstance(v, SeqL) else [v]


def _as_float(v: Any) -> float | None:
    if isinstance(v, float):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, Dim) and v.is_const:
        return float(v.value)
    return None


def _shape_eq(a: tuple[Dim, ...], b: tuple[Dim, ...]) -> bool:
    return len(a) == len(b) and all(dims.equal(x, y) for x, y in zip(a, b))


def _unify(pattern: tuple[Dim, ...], shape: tuple[Dim, ...], binding: dict[str, Dim]) -> bool:
    """Bind the pattern's variables to the shape's dims; True when the shape fits the pattern."""
    if len(pattern) != len(shape):
        return False
    for p, s in zip(pattern, shape):
        var = p.as_single_symbol()
        if var is not None and var not in binding and var.startswith("$"):
            binding[var] = s
    for p, s in zip(pattern, shape):
        if p.subst(binding) != s:
            return False
    return True


def _subst_tval(v: TVal, binding: dict[str, Dim]) -> TVal:
    if not binding:
        return v
    return TVal(tuple(Alt(None if a.shape is None else a.shape if a.shape is ERR_SHAPE
                          else tuple(d.subst(binding) for d in a.shape), a.guard) for a in v.alts))


def _shape_hint(found: tuple[Dim, ...], expected: tuple[Dim, ...]) -> str | None:
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


def _same_kind(a: Any, b: Any) -> bool:
    return _kind_name(a) == _kind_name(b)


def _kind_name(v: Any) -> str:
    if isinstance(v, Dim) or (isinstance(v, int) and not isinstance(v, bool)):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a name"
    if isinstance(v, GeneDef):
        return f"gene `{v.name}`"
    if _is_layer(v):
        return "a layer"
    return "nothing"


def _fmt_static(v: Any) -> str:
    if isinstance(v, Dim):
        return str(v)
    if isinstance(v, OpL):
        return v.spec.name
    if isinstance(v, GeneDef):
        return v.name
    return str(v)


def _arg_expectation(p) -> str:
    return {"dim": "an integer dimension", "int": "an integer", "float": "a number",
            "bool": "on/off", "choice": "one of " + ", ".join(p.choices)}.get(p.kind, p.kind)


def signature(spec: OpSpec) -> str:
    parts = []
    for a in spec.args:
        parts.append(a.name if a.default is REQUIRED else f"{a.name}={a.default}")
    if spec.varargs:
        parts.append(f"*{spec.varargs}")
    return f"{spec.name}({', '.join(parts)})"


def parse_override_value(raw: str) -> Any:
    """`--set` values: integers, numbers or names; never evaluated as code."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text

