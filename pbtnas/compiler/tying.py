"""Tied genes: one genome entry for several slots or block instances, each keeping its own weights.

`c[i] = Cell(x=c[i - 1], C=16) tied cell` makes every instance of that body that says `tied cell` read the same
genes. The genome holds them once, named `<body prefix>.cell.<gene>` and laid out where the first tied instance's
genes would be; each instance still creates its own layers under its own prefix (`net.c.0.e10`, `net.c.1.e10`),
and the tied gene owns all of them, so mixing moves them together.

How it is elaborated:
- A tied block instance pushes a rewrite `(instance prefix -> tie prefix)` onto its scope (`Scope.ties`); genes
  declared inside it (at any depth) are named through the rewrites, innermost first, which is what makes nested
  ties compose (`net.c.0.sub.e` -> `net.c.0.t.e` -> `net.cell.t.e`).
- A `param` has no weights of its own, so tied instances share the very same `GeneDef`: its symbol, its domain and
  the fixed layers it shapes (dimension genes) all follow from the one name.
- A slot does have weights: each instance keeps its own `GeneDef` (a *follower*: its own options' layers, paths and
  IR) whose `tied_to` is the *leader*, the genome's entry. Guards and conditions speak of the leader, so two tied
  slots are known to take the same option; the artifact gives the leader every follower's prefix.

Nothing here shares weights: two instances are never one module. Sharing weights is not offered by the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span

from pbtnas.compiler.ir import GeneDef, Scope
from pbtnas.compiler.layout import GenomeLayout

if TYPE_CHECKING:  # the genes pass imports this module; types only
    from pbtnas.compiler.genes import Genes

ERR_TIE = "E0231"


@dataclass
class _Tie:
    kind: str  # block | slot
    what: str  # the block's name, or "" for slots
    span: Span
    bad: bool = False  # reported at its first use: later uses stay quiet


@dataclass
class TieRegistry:
    """Per elaboration: the ties declared in each body and the leader genes created for tied slots."""

    ties: dict[tuple[str, str], _Tie] = field(default_factory=dict)
    leaders: dict[str, GeneDef] = field(default_factory=dict)


def rewrite(ties: tuple[tuple[str, str], ...], name: str) -> str:
    """The genome name of a gene declared at `name` under the scope's tie rewrites (innermost first)."""
    for src, dst in reversed(ties):
        if name == src or name.startswith(src + "."):
            name = dst + name[len(src):]
    return name


def _register(genes: "Genes", body_prefix: str, tie: str, kind: str, what: str, span: Span,
              local_names: dict[str, Any]) -> bool:
    key = (body_prefix, tie)
    seen = genes.ties.ties.get(key)
    if seen is None:
        bad = tie in local_names
        if bad:
            genes.report.error(ERR_TIE, f"the tie `{tie}` has the name of a node or gene of this body", span,
                               hint="the tied genes are named `<tie>.<gene>`: give the tie a name of its own")
        genes.ties.ties[key] = _Tie(kind, what, span, bad)
        return not bad
    if seen.bad:
        return False
    if seen.kind != kind:
        genes.report.error(ERR_TIE, f"`tied {tie}` joins a slot and a block instance", span,
                           notes=(f"`tied {tie}` is first used on a {seen.kind} at line {seen.span.line}",),
                           hint="tie slots with slots and instances of one block with each other, each under its own name")
        return False
    if kind == "block" and seen.what != what:
        genes.report.error(ERR_TIE, f"`tied {tie}` joins instances of different blocks (`{seen.what}` and `{what}`)", span,
                           notes=(f"`tied {tie}` is first used on an instance of `{seen.what}` at line {seen.span.line}",),
                           hint="tied instances share their genes, so they must be instances of the same block")
        return False
    return True


def enter_instance(genes: "Genes", scope: Scope, block: str, name: str, tied: str | None,
                   span: Span) -> tuple[tuple[str, str], ...]:
    """The tie rewrites of a new instance's scope (the enclosing ones, plus its own when it says `tied`)."""
    if tied is None:
        return scope.ties
    if not _register(genes, scope.prefix, tied, "block", block, span, scope.names):
        return scope.ties
    return scope.ties + ((f"{scope.prefix}.{name}", f"{scope.prefix}.{tied}"),)


def not_an_instance(genes: "Genes", stmt: ast.Assign) -> None:
    genes.report.error(ERR_TIE, f"`tied {stmt.tied}` ties the genes of a block instance, but this is an expression",
                       stmt.span, hint="tie block instances (`c = Cell(x=x) tied cell`) or slots (`slot a: OPS(C) tied e`); "
                                       "an expression has no genes of its own")


def shared_name(genes: "Genes", stmt, scope: Scope) -> str | None:
    """The genome name of the gene `stmt` declares when it is tied, else None."""
    local = stmt.name
    tied_slot = isinstance(stmt, ast.SlotRef) and stmt.tied is not None
    if tied_slot:
        if not _register(genes, scope.prefix, stmt.tied, "slot", "", stmt.span,
                         {k: v for k, v in scope.names.items() if k != stmt.name}):
            return None
        local = stmt.tied
    own = f"{scope.prefix}.{stmt.name}"
    name = rewrite(scope.ties, f"{scope.prefix}.{local}")
    if name == own and not tied_slot and own in genes.ties.leaders:  # `slot b: OPS tied e` above `slot e: OPS`
        genes.report.error(ERR_TIE, f"`{stmt.name}` has the name of the tie `{stmt.name}` of this body", stmt.span,
                           hint="the tied gene is named after its tie: give the tie or this gene a name of its own")
    return name if tied_slot or name != own else None


def follow(genes: "Genes", gene: GeneDef, leader_name: str, stmt) -> None:
    """Make the slot `gene` (one instance's) read the genome's leader gene `leader_name`, created on first use."""
    leader = genes.ties.leaders.get(leader_name)
    if leader is None:
        if leader_name in genes.by_name:
            genes.report.error(ERR_TIE, f"the tied gene `{leader_name}` has the name of another gene", stmt.span,
                               hint="rename the tie or the other slot")
            return
        leader = GeneDef(leader_name, "slot", list(gene.options), list(gene.values), stmt.span)
        genes.ties.leaders[leader_name] = leader
        genes.layout.n_options[leader] = len(leader.options)
    elif leader.options != gene.options:
        first = leader.followers[0] if leader.followers else leader
        genes.report.error(ERR_TIE, f"slot `{stmt.name}` is tied to `{leader_name}` but has other options", stmt.span,
                           found="[" + ", ".join(gene.options) + "]", expected="[" + ", ".join(leader.options) + "]",
                           notes=(f"the first slot of the tie is `{first.name}` at line {first.span.line}",),
                           hint="tied slots take the same option of one gene: their groups must list the same option names")
        return
    gene.tied_to = leader
    leader.followers.append(gene)


def lay_out(layout: GenomeLayout, gene: GeneDef) -> None:
    """Give `gene` its place in the genome; a tied slot takes its leader's, laid out at the first follower."""
    leader = gene.tied_to
    target = leader if leader is not None else gene
    layout.place(target)
    gene.index = target.index


def genome_gene(gene: GeneDef) -> GeneDef:
    """The gene the genome holds for `gene`: what guards and conditions must speak of."""
    return gene.tied_to if gene.tied_to is not None else gene


def finish(genes: "Genes") -> list[GeneDef]:
    """After elaboration: a leader is used when a follower is; returns every follower (for the artifact)."""
    followers = []
    for leader in genes.ties.leaders.values():
        leader.used = leader.used or any(f.used for f in leader.followers)
        if leader.followers:
            first = leader.followers[0]
            leader.in_pattern, leader.out_pattern = first.in_pattern, first.out_pattern
            leader.none_options = frozenset.intersection(*(f.none_options for f in leader.followers))
        followers.extend(f for f in leader.followers if f.index >= 0)
    return followers
