"""Top-level declarations: the space's name, constants (with `--set` overrides), value lists, option groups,
blocks, networks and init rules, collected once in file order into a `Declarations` environment.

Constants are evaluated as they are read, so a constant can use the ones above it; an override replaces the
declared value when it has the same kind (integer, number or name). Duplicate names and names of built-in ops are
reported here. The later passes only read the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbtnas.compiler.ir import Scope, is_layer
from pbtnas.compiler.messages import Reporter, fmt_static, kind_name, same_kind, suggest
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers.dims import Dim
from pbtnas.layers.ops import INIT_KINDS, RESERVED, get_op

INIT_SCHEMES = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
                "normal", "uniform", "constant")


@dataclass(frozen=True)
class Declarations:
    """What every later pass reads. The mappings are the collector's own dicts; nothing writes them afterwards."""

    space_name: str
    consts: dict[str, Any]  # name -> int, float or str (a name constant), overrides applied
    values: dict[str, list[Any]]  # `values NAME = [...]`
    groups: dict[str, ast.OptionsDecl]
    blocks: dict[str, ast.BlockDecl]  # blocks only; networks are below
    networks: tuple[ast.BlockDecl, ...]
    init: dict[str, tuple[str, dict]]  # layer kind -> (scheme, arguments)


def literal_values(values: list[ast.Value], span: Span, report: Reporter) -> list[Any]:
    """The options of a value list or an inline param, as Python values; a repeated option is reported."""
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
            report.error("E0102", f"option `{n}` is listed twice", span, hint="each option needs its own name")
    return out


class DeclarationCollector:
    def __init__(self, module: ast.Module, overrides: dict[str, str], report: Reporter):
        self.module, self.overrides, self.report = module, dict(overrides), report
        self.space_name = "space"
        self.consts: dict[str, Any] = {}
        self.values: dict[str, list[Any]] = {}
        self.groups: dict[str, ast.OptionsDecl] = {}
        self.blocks: dict[str, ast.BlockDecl] = {}
        self.networks: list[ast.BlockDecl] = []
        self.init: dict[str, tuple[str, dict]] = {}
        # A constant may be computed from the constants above it (and name blocks above it in a diagnostic).
        self.static = StaticEvaluator(self.consts, self.blocks, report)

    def run(self) -> Declarations:
        """Read every top-level declaration once, in file order."""
        seen: dict[str, Span] = {}
        names_of_consts = {d.name for d in self.module.decls if isinstance(d, ast.ConstDecl)}
        for key in self.overrides:
            if key not in names_of_consts:
                self.report.error("E0110", f"`--set {key}=...` names no constant of this space", None,
                                  found=f"`{key}`", expected="one of " + ", ".join(sorted(names_of_consts)) or "a constant",
                                  hint=suggest(key, names_of_consts))
        for decl in self.module.decls:
            name = getattr(decl, "name", None)
            if isinstance(decl, (ast.ConstDecl, ast.ValuesDecl, ast.OptionsDecl, ast.BlockDecl)):
                if name in seen:
                    self.report.error("E0102", f"`{name}` is defined twice", decl.span,
                                      notes=(f"first defined at line {seen[name].line}",), hint="rename one of them")
                    continue
                if name in RESERVED or get_op(name) is not None:
                    self.report.error("E0102", f"`{name}` is the name of a built-in op", decl.span,
                                      hint="choose another name")
                    continue
                seen[name] = decl.span
            if isinstance(decl, ast.SpaceDecl):
                self.space_name = decl.name
            elif isinstance(decl, ast.ConstDecl):
                self._const(decl)
            elif isinstance(decl, ast.ValuesDecl):
                self.values[decl.name] = literal_values(decl.values, decl.span, self.report)
            elif isinstance(decl, ast.InitDecl):
                self._init(decl)
            elif isinstance(decl, ast.OptionsDecl):
                self.groups[decl.name] = decl
            elif isinstance(decl, ast.BlockDecl):
                (self.networks if decl.is_network else []).append(decl)
                if not decl.is_network:
                    self.blocks[decl.name] = decl
        return Declarations(self.space_name, self.consts, self.values, self.groups, self.blocks,
                            tuple(self.networks), self.init)

    def _const(self, decl: ast.ConstDecl) -> None:
        if decl.name in self.overrides:
            raw = self.overrides[decl.name]
            value = parse_override_value(raw)
            if isinstance(decl.expr, ast.Name) and decl.expr.id not in self.consts:
                default: Any = decl.expr.id  # a name constant's default is its name, as below
            else:
                default = self.static.evaluate(decl.expr, Scope("", "", {}))
            if default is not None and not same_kind(default, value):
                self.report.error("E0110", f"`--set {decl.name}={raw}` has the wrong type", None,
                                  found=kind_name(value), expected=kind_name(default),
                                  hint=f"`{decl.name}` is declared at line {decl.span.line} as {fmt_static(default)}")
                value = default
            self.consts[decl.name] = value
            return
        if isinstance(decl.expr, ast.Name) and decl.expr.id not in self.consts:
            value: Any = decl.expr.id  # `const mode = bilinear`: a name constant
        else:
            value = self.static.evaluate(decl.expr, Scope("", "", {}))
        if is_layer(value):
            self.report.error("E0105", f"constant `{decl.name}` must be a number or a name", decl.expr.span)
            value = None
        if isinstance(value, Dim):
            if not value.is_const:
                self.report.error("E0105", f"constant `{decl.name}` must be a number or a name", decl.expr.span)
                value = None
            elif value.value.denominator == 1:
                value = int(value.value)
            else:
                value = float(value.value)
        if value is not None:
            self.consts[decl.name] = value

    def _init(self, decl: ast.InitDecl) -> None:
        if decl.kind not in INIT_KINDS:
            self.report.error("E0106", f"`init {decl.kind}` names no layer kind", decl.span,
                              expected=", ".join(INIT_KINDS), found=f"`{decl.kind}`", hint=suggest(decl.kind, INIT_KINDS))
            return
        if decl.scheme not in INIT_SCHEMES:
            self.report.error("E0106", f"unknown initialisation `{decl.scheme}`", decl.span,
                              expected=", ".join(INIT_SCHEMES), found=f"`{decl.scheme}`",
                              hint=suggest(decl.scheme, INIT_SCHEMES))
            return
        args: dict[str, Any] = {}
        for a in decl.args:
            if a.name is None:
                self.report.error("E0104", "initialisation arguments are named (gain=, mean=, std=, bias=, a=, b=)", a.span)
                continue
            if isinstance(a.value, ast.Name) and a.value.id not in self.consts:
                v: Any = a.value.id  # gain=relu: a name torch's calculate_gain knows
                if a.name != "gain" or v not in ("relu", "tanh", "linear", "sigmoid", "leaky_relu", "selu"):
                    self.report.error("E0106", f"`{v}` is not a valid `{a.name}`", a.value.span,
                                      hint="gains by name: relu, tanh, linear, sigmoid, leaky_relu, selu")
                    continue
            else:
                v = self.static.evaluate(a.value, Scope("", "", {}))
                if isinstance(v, Dim):
                    v = float(v.value) if v.is_const else None
            if a.name not in ("gain", "mean", "std", "bias", "a", "b", "value"):
                self.report.error("E0104", f"initialisation has no argument `{a.name}`", a.span,
                                  expected="gain, mean, std, bias, a, b or value")
                continue
            args[a.name] = v
        self.init[decl.kind] = (decl.scheme, args)


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
