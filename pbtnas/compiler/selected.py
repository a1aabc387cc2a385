"""The modules a genome selects, with their concrete input shapes and arguments: torch-free.

The builder creates exactly these modules (in this order); the parameter and FLOP counts read the same list, so a
count and a built network can never disagree about which layers a genome has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from pbtnas.compiler.routing import routed_away
from pbtnas.layers.dims import Dim


@dataclass(frozen=True)
class SelectedModule:
    path: str
    op: str
    gene: int | None  # the slot gene whose option made it; None for a fixed layer
    in_shape: tuple[int | None, ...]  # None: a dimension that varies (a spatial size under a shape variable)
    args: dict[str, Any]


def dim_value(d: dict | None, numeric: dict[str, Dim]) -> int | None:
    if d is None:
        return None
    dim = Dim.from_json(d["dim"])
    if not dim.is_const:
        dim = dim.subst(numeric)
    if not dim.is_const:
        return None
    return dim.int_value()


def gene_values(genes: Sequence[dict], genome: Sequence[int]) -> dict[str, Any]:
    return {g["name"]: g["values"][genome[i]] for i, g in enumerate(genes)}


def numeric_values(values: dict[str, Any]) -> dict[str, Dim]:
    """The dimension genes' values, as the substitution a symbolic shape takes."""
    return {k: Dim.const(v) for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)}


def arg_value(v: Any, genes: Sequence[dict], genome: Sequence[int], numeric: dict[str, Dim]) -> Any:
    if isinstance(v, dict) and "gene" in v:
        return genes[v["gene"]]["values"][genome[v["gene"]]]
    if isinstance(v, dict) and "dim" in v:
        return dim_value(v, numeric)
    if isinstance(v, list):
        return [arg_value(x, genes, genome, numeric) for x in v]
    return v


def concrete(entry: dict, genes: Sequence[dict], genome: Sequence[int], numeric: dict[str, Dim]) -> SelectedModule:
    args = {k: arg_value(v, genes, genome, numeric) for k, v in entry["args"].items()}
    return SelectedModule(entry["path"], entry["op"], entry["gene"],
                          tuple(dim_value(d, numeric) for d in entry["in"]), args)


def is_selected(entry: dict, genome: Sequence[int], away: tuple[str, ...]) -> bool:
    if entry["gene"] is not None and genome[entry["gene"]] != entry["option"]:
        return False
    return not (away and (entry["path"] + ".").startswith(away))


def selected_modules(artifact: dict, genome: Sequence[int]) -> Iterator[SelectedModule]:
    """Every module the genome's network has, in the artifact's fixed order."""
    genes = artifact["genes"]
    numeric = numeric_values(gene_values(genes, genome))
    away = routed_away(artifact["networks"], genes, genome)  # routing.py: an edge's other branch
    for entry in artifact["modules"]:
        if is_selected(entry, genome, away):
            yield concrete(entry, genes, genome, numeric)
