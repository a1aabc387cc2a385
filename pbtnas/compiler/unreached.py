"""Diagnostics for the parts of a file the elaborator never reached.

The elaborator checks an option group or a block when a network uses it; one that is never used (or whose use is
misspelt, `slot s: STAGEE(4)`) would otherwise hide every mistake inside it. This pass resolves the names of those
declarations without their arguments: unknown ops and functions (E0103), undefined names (E0101) and unknown
keyword arguments of ops (E0104). Shapes are not checked there: they depend on arguments no use has given.

It also finds the genes whose use sits in a statement that failed, so that they are not reported as unused
(W0301) on top of the error that hid their use.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator

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
            for opt in decl.options:
                _check_expr(opt.expr, local, blocks, report)
        elif isinstance(decl, ast.BlockDecl) and not decl.is_network and decl.name not in reached:
            local = top | {v.id for v in decl.shape_vars} | {p.name for p in decl.params} | _body_names(decl.body)
            for stmt in _statements(decl.body):
                for expr in _statement_exprs(stmt):
                    _check_expr(expr, local, blocks, report)


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
                reads = {n for e in _statement_exprs(stmt) for n in _names(e)}
                if reads & poisoned:
                    failed.append(stmt)
                    if hasattr(stmt, "name"):
                        poisoned.add(stmt.name)
                    changed = True
        for stmt in failed:
            for expr in _statement_exprs(stmt):
                hidden.update(_names(expr))
                _check_expr(expr, local, blocks, report)
            if isinstance(stmt, ast.SlotRef):
                hidden.update(n for a in stmt.args for n in _names(a.value))
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


def _names(expr) -> Iterator[str]:
    if isinstance(expr, ast.Name):
        yield expr.id
    elif isinstance(expr, ast.Index):
        yield expr.base
    if isinstance(expr, ast.Node):
        for value in vars(expr).values():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.Arg):
                    yield from _names(item.value)
                elif isinstance(item, ast.Node):
                    yield from _names(item)


def _check_expr(expr, names: set[str], blocks: dict, report: Report) -> None:
    if isinstance(expr, ast.Name):
        if expr.id not in names and expr.id not in RESERVED and get_op(expr.id) is None:
            report("E0101", f"undefined name `{expr.id}`", expr.span, hint=_suggest(expr.id, names))
        return
    if isinstance(expr, ast.Call):
        spec = get_op(expr.fn)
        # `a0(x)` applies the body's slot `a0`: a name of the body, not an op
        if spec is None and expr.fn not in _LANGUAGE_FUNCTIONS and expr.fn not in blocks and expr.fn not in names:
            report("E0103", f"unknown op `{expr.fn}`", expr.fn_span,
                   hint=_suggest(expr.fn, op_names()) or "see `pbtnas ops` for the op library")
        params = list(spec.args) if spec is not None else []
        by_name = {p.name: p for p in params}
        for i, a in enumerate(expr.args):
            p = by_name.get(a.name) if a.name is not None else (params[i] if i < len(params) else None)
            if spec is not None and a.name is not None and p is None and not spec.varargs:
                report("E0104", f"`{spec.name}` has no argument `{a.name}`", a.span,
                       hint=_suggest(a.name, list(by_name)))
            if p is not None and p.kind in _LITERAL_KINDS and isinstance(a.value, ast.Name):
                continue
            _check_expr(a.value, names, blocks, report)
        return
    if isinstance(expr, ast.Index):
        if expr.base not in names:
            report("E0101", f"undefined name `{expr.base}`", expr.span, hint=_suggest(expr.base, names))
        _check_expr(expr.index, names, blocks, report)
        return
    if isinstance(expr, ast.Node):
        for value in vars(expr).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ast.Node) and not isinstance(item, (ast.CondName, ast.CondIn, ast.CondEq)):
                    _check_expr(item, names, blocks, report)


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`?" if close else None
