"""Layers that a pick routes around: `b_down(in1[1]) if in1[1] in [s0, s1] else b_keep(in1[1])`.

A branch of a condition on pick genes only (`inputs[j] in [...]`, and/or/not of such) is the op an edge applies to
the input the genome chose. DARTS builds an edge's layers from its (op, input) pair, so a genome has the layers of
the branch its picks take and not those of the other: an edge from a cell input is a stride-2 op, from a node a
stride-1 one, never both. Every other condition keeps today's rule (a branch switched off by a flag keeps its
weights, as the paper's reference code does), so no existing space changes.

Both users read the artifact's serialised IR (gene indices, not GeneDef objects):
- the builder skips the modules of the branches the genome's picks do not take (`routed_away`);
- the artifact links each gene whose layers sit in such a branch with the picks of its condition (`pick_links`):
  which of its keys exist depends on them, so mixing must move them together or a child would need keys neither
  parent has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any


def _pick_genes(cond: dict, is_pick: Callable[[int], bool]) -> set[int] | None:
    """The pick genes a condition reads, or None when it reads anything else (a flag, a tensor, a constant)."""
    t = cond["t"]
    if t == "gene_in":
        return {cond["gene"]} if is_pick(cond["gene"]) else None
    if t == "not":
        return _pick_genes(cond["a"], is_pick)
    if t in ("and", "or"):
        a, b = _pick_genes(cond["a"], is_pick), _pick_genes(cond["b"], is_pick)
        return None if a is None or b is None else a | b
    return None


def _holds(cond: dict, genome: Sequence[int]) -> bool:
    t = cond["t"]
    if t == "gene_in":
        return genome[cond["gene"]] in cond["options"]
    if t == "not":
        return not _holds(cond["a"], genome)
    if t == "and":
        return _holds(cond["a"], genome) and _holds(cond["b"], genome)
    return _holds(cond["a"], genome) or _holds(cond["b"], genome)


def _layers(node: Any, gene_name: Callable[[int], str]) -> Iterator[tuple[str, int | None]]:
    """(module path or slot prefix, slot gene or None) of every layer applied in an IR subtree."""
    if isinstance(node, dict):
        t = node.get("t")
        if t == "op":
            yield node["path"] + ".", None
            return
        if t == "slot":
            yield (node.get("layers") or gene_name(node["gene"])) + ".", node["gene"]
            return
        for k, v in node.items():
            if k != "args":
                yield from _layers(v, gene_name)
    elif isinstance(node, list):
        for v in node:
            yield from _layers(v, gene_name)


def _walk(node: Any, is_pick: Callable[[int], bool], visit: Callable[[dict, set[int]], None]) -> None:
    """Call `visit(when_node, picks)` at every `when` on picks, nested ones included."""
    if isinstance(node, dict):
        if node.get("t") == "when" and (picks := _pick_genes(node["cond"], is_pick)) is not None:
            visit(node, picks)
        for k, v in node.items():
            if k != "args":
                _walk(v, is_pick, visit)
    elif isinstance(node, list):
        for v in node:
            _walk(v, is_pick, visit)


Route = tuple[tuple[dict, bool], ...]  # the pick conditions on the way to a layer, each with the branch taken


def route_conditions(networks: Sequence[dict], genes: Sequence[dict]) -> dict[str, list[Route]]:
    """Per prefix (a module path or a slot's name, ending in "."), the routes to each place a layer under it is
    applied: the layer is built when the genome's picks follow any one of them. One walk of the IR; evaluating it
    for a genome (`routed_away_on`) is cheap, so counting many genomes walks the IR once."""
    is_pick = lambda g: genes[g]["kind"] == "pick"  # noqa: E731
    out: dict[str, list[Route]] = {}

    def walk(node: Any, route: Route) -> None:
        if isinstance(node, dict):
            t = node.get("t")
            if t == "op":
                out.setdefault(node["path"] + ".", []).append(route)
                return
            if t == "slot":
                out.setdefault((node.get("layers") or genes[node["gene"]]["name"]) + ".", []).append(route)
                return
            if t == "when" and _pick_genes(node["cond"], is_pick) is not None:
                walk(node["then"], route + ((node["cond"], True),))
                walk(node["else"], route + ((node["cond"], False),))
                return
            for k, v in node.items():
                if k != "args":
                    walk(v, route)
        elif isinstance(node, list):
            for v in node:
                walk(v, route)

    for net in networks:
        walk([net["stmts"], net["result"]], ())
    return out


def routed_away_on(conditions: dict[str, list[Route]], genome: Sequence[int]) -> tuple[str, ...]:
    return tuple(sorted(prefix for prefix, routes in conditions.items()
                        if routes and not any(all(_holds(c, genome) == taken for c, taken in route)
                                              for route in routes)))


def routed_away(networks: Sequence[dict], genes: Sequence[dict], genome: Sequence[int]) -> tuple[str, ...]:
    """Prefixes (a module path or a slot's name, ending in ".") of the layers that only branches the genome's picks
    do not take apply: the builder creates no module whose `path + "."` starts with one of them."""
    return routed_away_on(route_conditions(networks, genes), genome)


def routed_prefixes(conditions: dict[str, list[Route]]) -> dict[str, set[int]]:
    """Every prefix under a branch of a pick condition, with the picks that decide whether it is built."""
    out: dict[str, set[int]] = {}
    for prefix, routes in conditions.items():
        picks = {g for route in routes for c, _ in route for g in _cond_genes(c)}
        if picks:
            out[prefix] = picks
    return out


def _cond_genes(cond: dict) -> set[int]:
    if cond["t"] == "gene_in":
        return {cond["gene"]}
    return set().union(*(_cond_genes(cond[k]) for k in ("a", "b") if k in cond))


def pick_links(networks: Sequence[dict], genes: Sequence[dict]) -> tuple[list[tuple[int, int]], list[tuple[int, str]]]:
    """(slot gene, pick gene) pairs whose keys depend on each other, and (pick gene, module path) of fixed layers
    that exist only under a pick's branch (the pick owns them)."""
    is_pick = lambda g: genes[g]["kind"] == "pick"  # noqa: E731
    name = lambda g: genes[g]["name"]  # noqa: E731
    links: list[tuple[int, int]] = []
    owned: list[tuple[int, str]] = []

    def visit(when: dict, picks: set[int]) -> None:
        for branch in (when["then"], when["else"]):
            for path, slot in _layers(branch, name):
                for p in sorted(picks):
                    if slot is not None:
                        links.append((slot, p))
                    else:
                        owned.append((p, path))

    for net in networks:
        _walk([net["stmts"], net["result"]], is_pick, visit)
    return links, owned
