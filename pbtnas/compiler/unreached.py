"""Diagnostics for the parts of a file the elaborator never reached.

The elaborator checks an option group or a block when a network uses it; one that is never used (or whose use is
misspelt, `slot s: STAGEE(4)`) would otherwise hide every mistake inside it. This pass resolves the names of those
declarations without their arguments: unknown ops and functions (E0103), undefined names (E0101) and unknown
keyword arguments of ops (E0104). Shapes are not checked there: they depend on arguments no use has given.

It also finds the genes whose use sits in a statement that failed, so that they are not reported as unused
(W0301) on top of the error that hid their use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from pbtnas.compiler.messages import suggest
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers.ops import RESERVED, get_op, op_names

Report = Callable[..., None]  # (code, message, span, **kw), the elaborator's deduplicating `error`

_LANGUAGE_FUNCTIONS = frozenset({"sum", "cat", "residual"})
_LITERAL_KINDS = ("choice", "bool")  # a bare name there is a literal (`mode=nearest`, `sn=on`)


def check_unreached(module: ast.Module, reached: set[str], consts: Iterable[str], values: Iterable[str],
                    report: Report) -> None:
    groups = {d.name: d for d in module.decls if isinstance(d, ast.OptionsDecl)}
    blocks = {d.name: d for d in module.decls if isinstance(d, ast.BlockDecl) and not d.is_network}
    top = set(consts) | set(values) | set(groups) | set(blocks)
    for decl in module.decls:
        if isinstance(decl, ast.OptionsDecl) and decl.name not in reached:
            local = top | {v.id for v in decl.shape_vars} | {p.name for p in decl.params}
            walk = NameWalk(local, blocks, report)
            for opt in decl.options:
                walk.visit(opt.expr)
        elif isinstance(decl, ast.BlockDecl) and not decl.is_network and decl.name not in reached:
            local = top | {v.id for v in decl.shape_vars} | {p.name for p in decl.params} | _body_names(decl.body)
            walk = NameWalk(local, blocks, report)
            for stmt in _statements(decl.body):
                for expr in _statement_exprs(stmt):
                    walk.visit(expr)


def failed_statements(module: ast.Module, error_spans: list[Span], consts: Iterable[str], values: Iterable[str],
                      report: Report) -> set[str]:
    """Names read by statements that failed: those with an error, and (transitively) those that read a name such a
    statement defines, which the elaborator skips without a word. Their names are checked as in an unreached
    declaration, so a second mistake in them is still reported."""
    hidden: set[str] = set()
    if not error_spans:
        return hidden
    groups = {d.name for d in module.decls if isinstance(d, ast.OptionsDecl)}
    blocks = {d.name: d for d in module.decls if isinstance(d, ast.BlockDecl) and not d.is_network}
    top = set(consts) | set(values) | groups | set(blocks)
    for decl in module.decls:
        if not isinstance(decl, ast.BlockDecl):
            continue
        stmts = list(_statements(decl.body))
        local = top | {v.id for v in decl.shape_vars} | {p.name for p in decl.params} | _body_names(decl.body)
        failed = [s for s in stmts if any(_contains(s.span, e) for e in error_spans)]
        poisoned = {s.name for s in failed if hasattr(s, "name")}
        changed = True
        while changed:
            changed = False
            for stmt in stmts:
                if stmt in failed:
                    continue
                if reads(_statement_exprs(stmt)) & poisoned:
                    failed.append(stmt)
                    if hasattr(stmt, "name"):
                        poisoned.add(stmt.name)
                    changed = True
        walk = NameWalk(local, blocks, report)
        for stmt in failed:
            for expr in _statement_exprs(stmt):
                walk.visit(expr)
            if isinstance(stmt, ast.SlotRef):
                hidden |= reads(a.value for a in stmt.args)
        hidden |= walk.reads
    return hidden


# ---- walking the AST ------------------------------------------------------------------------------------------------

def _statements(body: list) -> Iterator:
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.For):
            yield from _statements(stmt.body)


def _body_names(body: list) -> set[str]:
    names: set[str] = set()
    for stmt in _statements(body):
        if isinstance(stmt, (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef, ast.Assign, ast.Pick)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.For):
            names.add(stmt.var)
    return names


def _statement_exprs(stmt) -> list:
    if isinstance(stmt, ast.Assign):
        return [stmt.expr] + ([stmt.index] if stmt.index is not None else [])
    if isinstance(stmt, ast.Return):
        return [stmt.expr]
    if isinstance(stmt, ast.SlotInline):
        return [o.expr for o in stmt.options]
    if isinstance(stmt, ast.For):
        return [stmt.start, stmt.stop]
    if isinstance(stmt, ast.Pick):
        return list(stmt.candidates)
    return []


def _contains(outer: Span, inner: Span) -> bool:
    return (outer.line, outer.column) <= (inner.line, inner.column) and \
        (inner.line, inner.column) <= (outer.end_line, outer.end_column)


class NameWalk:
    """One walk over expressions: every name they read (`reads`) and, given the names in scope, a diagnostic for
    each name that resolves to nothing (E0101), each unknown op or function (E0103) and each unknown keyword
    argument of an op (E0104). A bare name in a literal argument (`mode=nearest`) or among a condition's options
    is read but not resolved: it is a literal there."""

    def __init__(self, names: set[str] | None = None, blocks: dict | None = None, report: Report | None = None):
        self.names, self.blocks, self.report = names, blocks or {}, report
        self.reads: set[str] = set()

    def visit(self, expr, resolve: bool = True) -> None:
        resolve = resolve and self.report is not None
        if isinstance(expr, ast.Name):
            self.reads.add(expr.id)
            if resolve and expr.id not in self.names and expr.id not in RESERVED and get_op(expr.id) is None:
                self.report("E0101", f"undefined name `{expr.id}`", expr.span, hint=suggest(expr.id, self.names))
            return
        if isinstance(expr, ast.Index):
            self.reads.add(expr.base)
            if resolve and expr.base not in self.names:
                self.report("E0101", f"undefined name `{expr.base}`", expr.span, hint=suggest(expr.base, self.names))
            self.visit(expr.index, resolve)
            return
        if isinstance(expr, ast.Call) and resolve:
            self._call(expr)
            return
        if isinstance(expr, (ast.CondName, ast.CondIn, ast.CondEq)):
            resolve = False  # their names are genes' options or the condition's subject, not references
        if isinstance(expr, ast.Node):
            for value in vars(expr).values():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, ast.Node):
                        self.visit(item, resolve)

    def _call(self, expr: ast.Call) -> None:
        spec = get_op(expr.fn)
        # `a0(x)` applies the body's slot `a0`: a name of the body, not an op
        if spec is None and expr.fn not in _LANGUAGE_FUNCTIONS and expr.fn not in self.blocks \
                and expr.fn not in (self.names or ()):
            self.report("E0103", f"unknown op `{expr.fn}`", expr.fn_span,
                        hint=suggest(expr.fn, op_names()) or "see `pbtnas ops` for the op library")
        params = list(spec.args) if spec is not None else []
        by_name = {p.name: p for p in params}
        for i, a in enumerate(expr.args):
            p = by_name.get(a.name) if a.name is not None else (params[i] if i < len(params) else None)
            if spec is not None and a.name is not None and p is None and not spec.varargs:
                self.report("E0104", f"`{spec.name}` has no argument `{a.name}`", a.span,
                            hint=suggest(a.name, list(by_name)))
            literal = p is not None and p.kind in _LITERAL_KINDS and isinstance(a.value, ast.Name)
            self.visit(a.value, resolve=not literal)


def reads(exprs: Iterable) -> set[str]:
    """The names `exprs` read (nothing is reported)."""
    walk = NameWalk()
    for expr in exprs:
        walk.visit(expr)
    return walk.reads
