"""The position index: every name written in a document, the symbol it means, and where that symbol is declared.

Built from the AST (names and their spans) with the language's scoping: top-level declarations (constants, value
lists, option groups, blocks, networks) are visible everywhere; inside a block, network or option group its shape
variables, parameters, genes, nodes and picks are. Options are symbols too: `down0 in [avg_pool]` names the option
`avg_pool` of the group `down0` draws from. The compiled program (genes in genome order, node values per instance)
is kept beside it for hover.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from pbtnas.compiler.ir import Program
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers.ops import RESERVED, get_op

# A symbol's identity: ("const", name), ("values", name), ("group", name), ("block", name) (networks too),
# ("local", owner, name) for what a body or group declares, ("opt", container, name) for an option of a group
# (container ("group", G)), of an inline slot or param (its ("local", ...) key) or of a value list (("values", V)),
# ("op", name) and ("oparg", op, name) for the op library.
Key = tuple


@dataclass
class Symbol:
    key: Key
    kind: str  # const values group block network gene node param shape_var pick loop_var option op oparg
    name: str
    span: Span | None  # where the name is declared; None for ops (they live in Python)
    node: Any = None  # the declaring AST node (statement, declaration, parameter or option)
    owner: str | None = None  # the block, network or group it belongs to


@dataclass(frozen=True, order=True)
class Occurrence:
    span: Span
    key: Key = field(compare=False)
    definition: bool = field(default=False, compare=False)


@dataclass
class Index:
    module: ast.Module | None
    program: Program | None
    text: str
    symbols: dict[Key, Symbol] = field(default_factory=dict)
    occurrences: list[Occurrence] = field(default_factory=list)  # sorted by position

    def at(self, line: int, column: int) -> Occurrence | None:
        """The name at a 1-based position; a cursor just after a name (`conv|`) still means it."""
        i = bisect.bisect_right(self.occurrences, Occurrence(Span(line, column, 10**9, 10**9), ()))
        best = None
        for occ in reversed(self.occurrences[max(0, i - 64):i]):
            s = occ.span
            if s.line == line and s.column <= column <= s.end_column:
                if best is None or column < s.end_column:
                    best = occ
                    if column < s.end_column:
                        break
        return best

    def references(self, key: Key, include_declaration: bool = True) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key and (include_declaration or not o.definition)]

    def decl_at(self, line: int) -> ast.Decl | None:
        """The top-level declaration whose text holds the 1-based `line`."""
        for d in self.module.decls if self.module else []:
            if d.span.line <= line <= d.span.end_line:
                return d
        return None

    def locals_of(self, owner: str) -> list[Symbol]:
        return [s for k, s in self.symbols.items() if k[0] == "local" and k[1] == owner]

    def options_of(self, container: Key) -> list[Symbol]:
        return [s for k, s in self.symbols.items() if k[0] == "opt" and k[1] == container]

    def option_container(self, key: Key) -> Key | None:
        """Where the options of the gene `key` are declared (its group, inline options or value list)."""
        sym = self.symbols.get(key)
        stmt = sym.node if sym is not None else None
        if isinstance(stmt, ast.SlotRef):
            group = self._resolve_group(stmt.group, sym.owner)
            return group if group is not None and group[0] == "group" else None
        if isinstance(stmt, (ast.SlotInline, ast.ParamInline)):
            return key
        if isinstance(stmt, ast.ParamRef):
            return ("values", stmt.values_name)
        return None

    def _resolve_group(self, name: str, owner: str | None) -> Key | None:
        local = ("local", owner, name)
        if local in self.symbols:
            return local
        return ("group", name) if ("group", name) in self.symbols else None


def name_span(start: Span, name: str) -> Span:
    """The span of a name that begins a node (`c0 in [...]`, `c[i]`, `k=3`)."""
    return Span(start.line, start.column, start.line, start.column + len(name))


class _Builder:
    def __init__(self, index: Index):
        self.index = index
        self.symbols = index.symbols
        self.occ: list[Occurrence] = []
        self.instances: dict[Key, str] = {}  # a node assigned a block instance -> the block's name

    # -- declarations --------------------------------------------------------------------------------------------
    def define(self, key: Key, kind: str, name: str, span: Span | None, node: Any = None, owner: str | None = None
               ) -> None:
        if key not in self.symbols:  # a name declared twice is the compiler's E0102: the first one stands
            self.symbols[key] = Symbol(key, kind, name, span, node, owner)
        if span is not None:
            self.occ.append(Occurrence(span, key, True))

    def use(self, key: Key | None, span: Span | None) -> None:
        if key is not None and span is not None:
            self.occ.append(Occurrence(span, key))

    def run(self, module: ast.Module) -> None:
        for d in module.decls:  # pass 1: top-level names are visible above their declaration too
            if isinstance(d, ast.ConstDecl):
                self.define(("const", d.name), "const", d.name, d.name_span, d)
            elif isinstance(d, ast.ValuesDecl):
                self.define(("values", d.name), "values", d.name, d.name_span, d)
            elif isinstance(d, ast.OptionsDecl):
                self.define(("group", d.name), "group", d.name, d.name_span, d)
            elif isinstance(d, ast.BlockDecl):
                self.define(("block", d.name), "network" if d.is_network else "block", d.name, d.name_span, d)
        for d in module.decls:
            if isinstance(d, ast.ConstDecl):
                self.expr(d.expr, None)
            elif isinstance(d, ast.ValuesDecl):
                for v in d.values:
                    if isinstance(v, ast.Name):
                        self.define(("opt", ("values", d.name), v.id), "option", v.id, v.span, d)
            elif isinstance(d, ast.OptionsDecl):
                self.group(d)
            elif isinstance(d, ast.BlockDecl):
                self.block(d)
            elif isinstance(d, ast.InitDecl):
                for a in d.args:
                    self.expr(a.value, None)

    def _header(self, d: ast.OptionsDecl | ast.BlockDecl) -> None:
        for sv in d.shape_vars:
            self.define(("local", d.name, sv.id), "shape_var", sv.id, sv.span, sv, d.name)
        for p in d.params:
            self.define(("local", d.name, p.name), "param", p.name, p.name_span, p, d.name)
        for p in d.params:
            if p.shape is not None:
                self.shape(p.shape, d.name)

    def group(self, d: ast.OptionsDecl) -> None:
        self._header(d)
        self.shape(d.in_type, d.name)
        self.shape(d.out_type, d.name)
        for o in d.options:
            self.define(("opt", ("group", d.name), o.name), "option", o.name, o.name_span, o, d.name)
            self.expr(o.expr, d.name)

    def block(self, d: ast.BlockDecl) -> None:
        self._header(d)
        self.shape(d.out_type, d.name)
        self._declare_body(d.body, d.name)
        self._walk_body(d.body, d.name)

    def _declare_body(self, body: list[ast.Stmt], owner: str) -> None:
        for s in body:
            key = ("local", owner, getattr(s, "name", ""))
            if isinstance(s, (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef)):
                self.define(key, "gene", s.name, s.name_span, s, owner)
            elif isinstance(s, ast.Pick):
                self.define(key, "pick", s.name, s.name_span, s, owner)
            elif isinstance(s, ast.Assign):
                self.define(key, "node", s.name, s.name_span, s, owner)
                if isinstance(s.expr, ast.Call) and ("block", s.expr.fn) in self.symbols:
                    self.instances[key] = s.expr.fn
            elif isinstance(s, ast.For):
                self.define(("local", owner, s.var), "loop_var", s.var, s.name_span, s, owner)
                self._declare_body(s.body, owner)

    def _walk_body(self, body: list[ast.Stmt], owner: str) -> None:
        for s in body:
            if isinstance(s, ast.SlotRef):
                self.use(self.index._resolve_group(s.group, owner), s.group_span)
                for a in s.args:
                    self.expr(a.value, owner)
            elif isinstance(s, ast.SlotInline):
                key = ("local", owner, s.name)
                self.shape(s.in_type, owner)
                self.shape(s.out_type, owner)
                for o in s.options:
                    self.define(("opt", key, o.name), "option", o.name, o.name_span, o, owner)
                    self.expr(o.expr, owner)
            elif isinstance(s, ast.ParamInline):
                for v in s.values:
                    if isinstance(v, ast.Name):
                        self.define(("opt", ("local", owner, s.name), v.id), "option", v.id, v.span, s, owner)
            elif isinstance(s, ast.ParamRef):
                self.use(("values", s.values_name) if ("values", s.values_name) in self.symbols else None,
                         s.values_span)
            elif isinstance(s, ast.Assign):
                if s.index is not None:
                    self.expr(s.index, owner)
                self.expr(s.expr, owner)
            elif isinstance(s, ast.Pick):
                for c in s.candidates:
                    self.expr(c, owner)
            elif isinstance(s, ast.Return):
                self.expr(s.expr, owner)
            elif isinstance(s, ast.For):
                self.expr(s.start, owner)
                self.expr(s.stop, owner)
                self._walk_body(s.body, owner)

    # -- names in expressions ------------------------------------------------------------------------------------
    def resolve(self, name: str, owner: str | None) -> Key | None:
        for key in (("local", owner, name), ("const", name), ("values", name), ("group", name), ("block", name)):
            if key in self.symbols:
                return key
        return self.op(name)

    def op(self, name: str) -> Key | None:
        if get_op(name) is None:
            return None
        key = ("op", name)
        self.symbols.setdefault(key, Symbol(key, "op", name, None))
        return key

    def shape(self, t, owner: str | None) -> None:
        if isinstance(t, ast.ShapeType):
            for dim in t.dims:
                self.expr(dim, owner)
        elif isinstance(t, ast.UnionType):
            for a in t.alternatives:
                self.shape(a, owner)
        elif isinstance(t, ast.TupleType):
            for i in t.items:
                self.shape(i, owner)

    def expr(self, e: ast.Expr, owner: str | None) -> None:
        if isinstance(e, ast.Name):
            self.use(self.resolve(e.id, owner), e.span)
        elif isinstance(e, ast.Call):
            self.call(e, owner)
        elif isinstance(e, ast.Attr):
            self.expr(e.obj, owner)
            if isinstance(e.obj, ast.Name) and e.span.line == e.span.end_line:
                block = self.instances.get(("local", owner, e.obj.id))
                if block is not None:
                    end = e.span.end_column
                    self.use(("local", block, e.name), Span(e.span.line, end - len(e.name), e.span.line, end))
        elif isinstance(e, ast.Index):
            self.use(self.resolve(e.base, owner), name_span(e.span, e.base))
            self.expr(e.index, owner)
        elif isinstance(e, ast.BinOp):
            self.expr(e.left, owner)
            self.expr(e.right, owner)
        elif isinstance(e, ast.Neg):
            self.expr(e.operand, owner)
        elif isinstance(e, ast.When):
            self.expr(e.expr, owner)
            self.cond(e.cond, owner)
        elif isinstance(e, ast.IfElse):
            self.expr(e.expr, owner)
            self.cond(e.cond, owner)
            self.expr(e.other, owner)
        elif isinstance(e, (ast.TupleExpr, ast.ListExpr)):
            for item in e.items:
                self.expr(item, owner)

    def call(self, e: ast.Call, owner: str | None) -> None:
        local = ("local", owner, e.fn)
        if local in self.symbols:
            target: Key | None = local  # a slot applied as a function: `a2(in2[0])`
        elif ("block", e.fn) in self.symbols:
            target = ("block", e.fn)
        else:
            target = self.op(e.fn)  # None: sum, cat, residual, or a name the compiler reports
        self.use(target, e.fn_span)
        for a in e.args:
            if a.name is not None and target is not None:
                if target[0] == "block":
                    self.use(("local", e.fn, a.name), name_span(a.span, a.name))
                elif target[0] == "op":
                    key = ("oparg", e.fn, a.name)
                    self.symbols.setdefault(key, Symbol(key, "oparg", a.name, None, None, e.fn))
                    self.use(key, name_span(a.span, a.name))
            self.expr(a.value, owner)

    def cond(self, c: ast.Cond, owner: str | None) -> None:
        if isinstance(c, ast.CondName):
            self.use(self.resolve(c.name, owner), c.span)
        elif isinstance(c, (ast.CondIn, ast.CondEq)):
            target = self.resolve(c.name, owner)
            self.use(target, name_span(c.span, c.name))
            values = c.values if isinstance(c, ast.CondIn) else [c.value]
            index = c.index if isinstance(c, ast.CondIn) else None
            if index is not None:
                self.expr(index, owner)
            for v in values:
                if not isinstance(v, ast.Name):
                    continue
                if index is not None:  # `in2[0] in [s0, s1]`: the candidates are the body's nodes
                    self.use(self.resolve(v.id, owner), v.span)
                elif target is not None:
                    container = self.index.option_container(target)
                    if container is not None and ("opt", container, v.id) in self.symbols:
                        self.use(("opt", container, v.id), v.span)
        elif isinstance(c, ast.CondNot):
            self.cond(c.operand, owner)
        elif isinstance(c, ast.CondBool):
            self.cond(c.left, owner)
            self.cond(c.right, owner)


def build_index(module: ast.Module | None, program: Program | None, text: str) -> Index:
    index = Index(module, program, text)
    if module is not None:
        builder = _Builder(index)
        builder.run(module)
        index.occurrences = sorted(builder.occ)
    return index


__all__ = ["Index", "Key", "Occurrence", "RESERVED", "Symbol", "build_index", "name_span"]
