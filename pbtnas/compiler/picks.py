"""Input selection: `pick inputs: 2 of [s0, s1, n0]`, then `inputs[0]`, `inputs[1]` and `inputs[j] in [...]`.

A pick is ONE gene whose options are the k-element combinations of its candidates in list order (`s0_s1`,
`s0_n0`, `s1_n0`), so the exact size counts combinations, never ordered pairs or repeats. `inputs[j]` is the j-th
chosen candidate: a tensor whose alternatives are the candidates' alternatives, each guarded by the options that
choose that candidate in position j. Shapes, absence and every later check therefore stay exact per option, with
the guard machinery every other choice uses (`guards.py`). In the IR it is `{"t": "pick", "gene", "choices"}`, one
candidate expression per option, which the builder resolves once per genome.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pbtnas.compiler import tying
from pbtnas.compiler.guards import Alt, Cube, TVal, simplify
from pbtnas.dsl import ast
from pbtnas.layers.dims import Dim

from pbtnas.compiler.ir import POISON, GeneDef, PathCounter, Scope
from pbtnas.compiler.messages import Reporter, suggest

if TYPE_CHECKING:  # the passes import this module; types only
    from pbtnas.compiler.genes import Genes
    from pbtnas.compiler.static import StaticEvaluator
    from pbtnas.compiler.tensors import TensorInference


@dataclass
class PickRef:
    """What a pick's name is bound to in its body, from its statement on."""

    gene: GeneDef
    k: int
    labels: list[str]              # the candidates, as the option names spell them
    combos: list[tuple[int, ...]]  # per option: the chosen candidates, in list order
    values: list[TVal | None]      # per candidate (None: its error is reported already)
    irs: list[Any]


def option_names(labels: list[str], k: int) -> tuple[list[tuple[int, ...]], list[str]]:
    combos = list(itertools.combinations(range(len(labels)), k))
    return combos, ["_".join(labels[i] for i in c) for c in combos]


def _label(static: "StaticEvaluator", report: Reporter, expr: ast.Expr, scope: Scope) -> str | None:
    """`s0` -> "s0"; `c[3]` (a node of a repetition) -> "c3"; anything else is not a candidate."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Index):
        i = static.evaluate(expr.index, scope)
        if isinstance(i, Dim) and i.is_const and i.value.denominator == 1:
            return f"{expr.base}{int(i.value)}"
        return None
    report.error("E0105", "a pick candidate is a node name", expr.span, found="an expression",
                 hint="assign the expression to a node first (`n = x >> conv(...)`) and pick the node")
    return None


def declare(genes: "Genes", tensors: "TensorInference", stmt: ast.Pick, scope: Scope, pending: dict) -> None:
    """Elaborate `pick NAME: k of [...]` where it stands: its gene takes its place in the genome here."""
    report = genes.report
    scope.names[stmt.name] = POISON  # until it is proven well-formed, its uses report nothing more
    labels: list[str] = []
    ok = True
    for cand in stmt.candidates:
        label = _label(genes.static, report, cand, scope)
        if label is None:
            ok = False
            continue
        if label in labels:
            report.error("E0102", f"candidate `{label}` is listed twice in pick `{stmt.name}`", cand.span,
                         hint="the inputs of a pick are distinct: list each candidate once")
            ok = False
            continue
        labels.append(label)
    n = len(stmt.candidates)
    if not 1 <= stmt.k <= n:
        report.error("E0106", f"pick `{stmt.name}` chooses {stmt.k} of {n} candidate{'s' if n != 1 else ''}",
                     stmt.span, expected=f"1 to {n}", found=str(stmt.k),
                     hint="k counts the distinct inputs chosen: at least 1, at most the number of candidates")
        ok = False
    values, irs = [], []
    for i, cand in enumerate(stmt.candidates):
        r = tensors.tensor(cand, scope, PathCounter(f"{scope.prefix}.{stmt.name}.{i}"), pending)
        values.append(r[0] if r is not None else None)
        irs.append(r[1] if r is not None else None)
        ok = ok and r is not None
    if not ok:
        return
    combos, names = option_names(labels, stmt.k)
    # A pick owns no weights, so tied instances share its very gene, as they share a `param` (tying.py).
    gname = tying.rewrite(scope.ties, f"{scope.prefix}.{stmt.name}")
    gene = genes.by_name.get(gname)  # the same body elaborated again (another binding, a tie) keeps its gene
    if gene is None:
        gene = GeneDef(gname, "pick", names, list(names), stmt.span)
        genes.by_name[gname] = gene
        genes.layout.n_options[gene] = len(names)
    genes.layout.place(gene)
    scope.names[stmt.name] = PickRef(gene, stmt.k, labels, combos, values, irs)


def select(tensors: "TensorInference", ref: PickRef, expr: ast.Index, scope: Scope) -> tuple[TVal, Any] | None:
    """`inputs[j]`: the j-th chosen candidate, guarded by the options that choose it there."""
    j = _position(tensors.static, tensors.report, ref, expr.index, expr.base, scope)
    if j is None:
        return None
    gene, n = ref.gene, len(ref.combos)
    gene.used = True
    alts: list[Alt] = []
    for c, value in enumerate(ref.values):
        chosen = {o for o, combo in enumerate(ref.combos) if combo[j] == c}
        guard = Cube.of(gene, chosen, n)
        if guard is None or value is None:
            continue
        alts += [Alt(a.shape, g) for a in value.alts if (g := a.guard & guard) is not None]
    ir = {"t": "pick", "gene": gene, "choices": [ref.irs[combo[j]] for combo in ref.combos]}
    return TVal(simplify(alts, tensors.layout.n_options)), ir


def condition(static: "StaticEvaluator", report: Reporter, c: ast.CondIn, target: Any, scope: Scope):
    """`inputs[j] in [s0, s1]`: the options whose j-th input is one of those candidates."""
    if not isinstance(target, PickRef):
        report.error("E0105", f"`{c.name}[...] in [...]` reads the input a pick chose; `{c.name}` is no pick", c.span,
                     hint="declare it with `pick NAME: k of [...]`")
        return None
    j = _position(static, report, target, c.index, c.name, scope)
    if j is None:
        return None
    wanted = set()
    for v in c.values:
        name = v.id if isinstance(v, ast.Name) else str(v.value)
        if name not in target.labels:
            report.error("E0106", f"`{name}` is not a candidate of pick `{c.name}`", v.span,
                         expected="one of " + ", ".join(target.labels), hint=suggest(name, target.labels))
            return None
        wanted.add(target.labels.index(name))
    gene, n = target.gene, len(target.combos)
    gene.used = True
    chosen = {o for o, combo in enumerate(target.combos) if combo[j] in wanted}
    t = [x] if (x := Cube.of(gene, chosen, n)) is not None else []
    f = [x] if (x := Cube.of(gene, set(range(n)) - chosen, n)) is not None else []
    return t, f, {"t": "gene_in", "gene": gene, "options": sorted(chosen)}


def _position(static: "StaticEvaluator", report: Reporter, ref: PickRef, index: ast.Expr, name: str,
              scope: Scope) -> int | None:
    j = static.evaluate(index, scope)
    if j is None:
        return None
    if not (isinstance(j, Dim) and j.is_const and j.value.denominator == 1):
        report.error("E0105", f"the position in `{name}[...]` must be a constant integer", index.span)
        return None
    j = int(j.value)
    if not 0 <= j < ref.k:
        report.error("E0106", f"`{name}[{j}]` is out of range: pick `{name}` chooses {ref.k} input"
                     f"{'s' if ref.k != 1 else ''}", index.span, expected=f"0 to {ref.k - 1}", found=str(j))
        return None
    return j
