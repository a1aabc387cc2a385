"""Repetition: `for i in range(start, stop) { ... }` and indexed nodes `c[i]`.

A loop is unrolled at compile time: its bounds are constant integers (so `--set N=3` changes the depth), and the
body is elaborated once per index with the loop variable bound to that index as a constant. Nothing about a loop
survives into the program: the genome, the module paths and the IR are those of the same body written out by hand.

An indexed node `c[k]` is an ordinary node whose name carries the index: its scope key and path component are
`c.k`, so an instance `c[3] = Cell(...)` has its genes and weights under `net.c.3` (as nn.Sequential numbers its
children). Each index is assigned once; reading one that is not assigned names the indices that are.

Only assignments and nested loops may appear in a loop body. Genes declared in a loop would need a name per
iteration and would be invisible to the body's first pass (a body's genes are declared before its nodes); the
language's way is a block holding the genes, instantiated in the loop (with `tied` when all share one genotype).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers.dims import Dim

from pbtnas.compiler.ir import POISON, GeneDef, InstanceRef, Scope, TensorRef
from pbtnas.compiler.messages import Reporter, kind_name, suggest

if TYPE_CHECKING:  # the passes import this module; types only
    from pbtnas.compiler.instances import BlockElaborator
    from pbtnas.compiler.static import StaticEvaluator

ERR_LOOP = "E0230"
# One loop past this many iterations is a typo (or a `--set` gone wrong), not a network; the whole file's
# unrolled iterations are bounded too, so that nested loops cannot make compilation take hours.
MAX_ITERATIONS = 1000
MAX_TOTAL_ITERATIONS = 10_000

_GENE_STMTS = (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef)


def node_key(base: str, index: int) -> str:
    """The scope key and path component of `base[index]` (not an identifier, so it never meets a plain name)."""
    return f"{base}.{index}"


def poison_key(base: str) -> str:
    """Marks a family whose loop was refused (already reported)."""
    return f"{base}.*"


def _assigned_families(body: list) -> set[str]:
    out: set[str] = set()
    for stmt in body:
        if isinstance(stmt, ast.For):
            out |= _assigned_families(stmt.body)
        elif isinstance(stmt, ast.Assign) and stmt.index is not None:
            out.add(stmt.name)
    return out


def _indices(scope: "Scope", base: str) -> list[int]:
    out = []
    for key in scope.names:
        head, _, tail = key.rpartition(".")
        if head == base and tail.isdigit():
            out.append(int(tail))
    return sorted(out)


def _is_family(scope: "Scope", base: str) -> bool:
    return bool(_indices(scope, base))


def _fmt_indices(base: str, indices: list[int]) -> str:
    if not indices:
        return "none"
    runs: list[str] = []
    start = prev = indices[0]
    for k in indices[1:] + [None]:  # type: ignore[list-item]
        if k is not None and k == prev + 1:
            prev = k
            continue
        runs.append(f"{base}[{start}]" if start == prev else f"{base}[{start}] to {base}[{prev}]")
        if k is not None:
            start = prev = k
    return ", ".join(runs)


def _static_int(static: "StaticEvaluator", report: Reporter, expr: ast.Expr, scope: Scope, what: str) -> int | None:
    """A constant integer, or a diagnostic saying why `expr` is not one."""
    v = static.evaluate(expr, scope)
    if v is None:
        return None
    if isinstance(v, GeneDef) or (isinstance(v, Dim) and not v.is_const):
        report.error(ERR_LOOP, f"{what} must be a constant integer, not a value chosen by a gene", expr.span,
                     hint="loops and indices are unrolled at compile time: use constants (`--set` can change them)")
        return None
    if isinstance(v, Dim) and v.value.denominator == 1:
        return int(v.value)
    report.error(ERR_LOOP, f"{what} must be a constant integer", expr.span,
                 found=f"`{v}`" if isinstance(v, (Dim, float)) else kind_name(v),
                 hint="use whole numbers and `//` for division")
    return None


def index_of(static: "StaticEvaluator", report: Reporter, expr: ast.Expr, scope: Scope, base: str) -> int | None:
    k = _static_int(static, report, expr, scope, f"the index of `{base}[...]`")
    if k is not None and k < 0:
        report.error(ERR_LOOP, f"the index of `{base}[...]` is {k}", expr.span, expected="0 or more",
                     hint="indices count from 0; check the loop bounds (`c[i - 1]` at `i = 0` reads `c[-1]`)")
        return None
    return k


def _bounds(static: "StaticEvaluator", report: Reporter, loop: ast.For, scope: Scope) -> tuple[int, int] | None:
    start = _static_int(static, report, loop.start, scope, "the start of `range`")
    stop = _static_int(static, report, loop.stop, scope, "the end of `range`")
    if start is None or stop is None:
        return None
    if start < 0 or stop < start:
        report.error(ERR_LOOP, f"`range({start}, {stop})` is not a range of indices", loop.span,
                     expected="0 <= start <= stop", found=f"start {start}, stop {stop}",
                     hint="indices are 0 or more and the loop counts up; check the constants (and any `--set`)")
        return None
    if stop - start > MAX_ITERATIONS:
        report.error(ERR_LOOP, f"`range({start}, {stop})` has {stop - start} iterations", loop.span,
                     expected=f"at most {MAX_ITERATIONS}",
                     hint="a deeper network is a constant away: check the constants the bounds read (and `--set`)")
        return None
    return start, stop


def unroll(blocks: "BlockElaborator", loop: ast.For, decl: ast.BlockDecl, scope: Scope, assigned: dict[str, Span],
           pending: dict[str, Span]) -> None:
    """Elaborate the loop's body once per index, in order."""
    report = blocks.report
    body = []
    for stmt in loop.body:
        if isinstance(stmt, (ast.Assign, ast.For)):
            body.append(stmt)
            continue
        what = {ast.Return: "`return`", ast.Pick: "`pick`", ast.SlotRef: "`slot`", ast.SlotInline: "`slot`"
                }.get(type(stmt), "`param`")
        name = getattr(stmt, "name", None)
        if name is not None and name not in scope.names:
            scope.names[name] = POISON  # reported here: its uses in the loop stay quiet
        report.error(ERR_LOOP, f"{what} cannot be written inside `for`", stmt.span,
                     hint="a loop body only assigns nodes: put the genes in a block and instantiate it in the loop, "
                          "e.g. `c[i] = Cell(x=c[i - 1]) tied cell` (`tied` when every cell has one genotype)"
                     if what != "`return`" else "write `return` after the loop, reading its last node "
                                                "(`return c[N - 1]` after `range(N)`)")
    bounds = _bounds(blocks.static, report, loop, scope)
    if bounds is not None and (loop.var in scope.names or loop.var in blocks.decls.consts):
        report.error("E0102", f"the loop variable `{loop.var}` already names something in `{decl.name}`", loop.span,
                     hint="give the loop variable a name of its own")
        bounds = None
    done = blocks.unrolled
    if bounds is not None and done + (bounds[1] - bounds[0]) > MAX_TOTAL_ITERATIONS:
        report.error(ERR_LOOP, "the loops of this space unroll to too many iterations", loop.span,
                     expected=f"at most {MAX_TOTAL_ITERATIONS} in all", hint="check the loop bounds (and any `--set`)")
        bounds = None
    if bounds is None:
        for base in _assigned_families(loop.body):  # reported: reads of the loop's nodes stay quiet
            scope.names.setdefault(poison_key(base), POISON)
        return
    blocks.unrolled = done + (bounds[1] - bounds[0])
    try:
        for k in range(*bounds):
            scope.names[loop.var] = Dim.const(k)
            for stmt in body:
                if isinstance(stmt, ast.For):
                    unroll(blocks, stmt, decl, scope, assigned, pending)
                else:
                    assign(blocks, stmt, decl, scope, assigned, pending, in_loop=True)
    finally:
        scope.names.pop(loop.var, None)


def returns_inside(body: list) -> bool:
    """A `return` written inside a loop (reported there): the body is not also told it has none."""
    return any(isinstance(s, ast.For) and any(isinstance(t, ast.Return) or (isinstance(t, ast.For)
               and returns_inside([t])) for t in s.body) for s in body)


def handles(scope: "Scope", stmt: ast.Assign) -> bool:
    """Whether this module elaborates `stmt`: an indexed node, or a plain name that an indexed family holds."""
    return stmt.index is not None or _is_family(scope, stmt.name)


def assign(blocks: "BlockElaborator", stmt: ast.Assign, decl: ast.BlockDecl, scope: Scope, assigned: dict[str, Span],
           pending: dict[str, Span], in_loop: bool = False) -> None:
    """One assignment met in a loop body, or an indexed one anywhere."""
    report = blocks.report
    if stmt.index is None:
        if _is_family(scope, stmt.name):
            report.error("E0102", f"`{stmt.name}` names indexed nodes (`{stmt.name}[...]`) and a plain node", stmt.span,
                         hint="give the plain node a name of its own")
            return
        if stmt.name in assigned or isinstance(scope.names.get(stmt.name), GeneDef):
            report.error("E0102", f"`{stmt.name}` is assigned again in the loop" if in_loop else
                         f"`{stmt.name}` is assigned twice in `{decl.name}`", stmt.span,
                         hint=f"index it, `{stmt.name}[i] = ...`: each iteration then assigns its own node"
                         if in_loop else "cells are DAGs: give each node its own name")
            return
        blocks.assign(stmt, scope, pending)
        assigned[stmt.name] = stmt.span
        pending.pop(stmt.name, None)
        return
    plain = scope.names.get(stmt.name)
    if plain is not None and not _is_family(scope, stmt.name):
        report.error("E0102", f"`{stmt.name}` is a node or gene already; indexed nodes need a name of their own",
                     stmt.span, hint=f"rename one of them, e.g. `{stmt.name}s[i]`")
        return
    k = index_of(blocks.static, report, stmt.index, scope, stmt.name)
    if k is None:
        return
    key = node_key(stmt.name, k)
    if key in assigned:
        report.error("E0102", f"`{stmt.name}[{k}]` is assigned twice in `{decl.name}`", stmt.span,
                     notes=(f"first assigned at line {assigned[key].line}",),
                     hint="each index is assigned once; check the loop bounds and the index expression")
        return
    blocks.assign(ast.Assign(key, stmt.expr, tied=stmt.tied, span=stmt.span), scope, pending)
    if scope.names.get(key) is None:
        scope.names[key] = POISON
    assigned[key] = stmt.span
    pending.pop(stmt.name, None)


def read(static: "StaticEvaluator", report: Reporter, expr: ast.Index, scope: Scope, attr: str | None = None,
         span: Span | None = None) -> tuple[Any, Any] | None:
    """`c[k]` (or `c[k].node`) as a tensor: the node's value and its IR."""
    base = scope.names.get(expr.base)
    if base is POISON or scope.names.get(poison_key(expr.base)) is POISON:
        return None
    if not _is_family(scope, expr.base):
        if base is not None:
            report.error("E0105", f"`{expr.base}` is not an indexed node; `{expr.base}[...]` reads one", expr.span,
                         hint=f"read it as `{expr.base}`")
        else:
            report.error("E0101", f"undefined name `{expr.base}`", expr.span,
                         hint="indexed nodes are assigned with `c[i] = ...`, e.g. in a `for` loop")
        return None
    k = index_of(static, report, expr.index, scope, expr.base)
    if k is None:
        return None
    v = scope.names.get(node_key(expr.base, k))
    if v is POISON:
        return None
    if v is None:
        report.error("E0101", f"`{expr.base}[{k}]` is not assigned (yet)", expr.span,
                     found=f"`{expr.base}[{k}]`",
                     expected="an assigned index: " + _fmt_indices(expr.base, _indices(scope, expr.base)),
                     hint="a node can only read nodes assigned above it; check the index and the loop bounds")
        return None
    if isinstance(v, InstanceRef):
        ref = v.nodes.get(attr or "")
        if ref is None:
            report.error("E0101", f"block instance `{expr.base}[{k}]` has no node `{attr}`", span or expr.span,
                         hint=suggest(attr or "", [n for n in v.nodes if n]))
            return None
        return ref.value, {"t": "var", "name": ref.var}
    if attr is not None:
        report.error("E0105", "`.` reads a node of a block instance, e.g. `c[0].skip`", span or expr.span)
        return None
    assert isinstance(v, TensorRef)
    return v.value, {"t": "var", "name": v.var}
