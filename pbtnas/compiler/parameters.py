"""Exact parameter counts from the compiled artifact, torch-free: per genome (per network and per gene) and the
minimum and maximum over the whole space.

Each op's learnable-parameter count is a rule on its concrete input shape and arguments (the same numbers torch's
module would allocate: `sum(p.numel())`). An op without a rule (a plugin's, registered without one) is counted by
building that one module when torch is at hand (`pbtnas show`, a search); `pbtnas compile` stays torch-free and
says which ops it could not count. Plugins add a rule with `register_parameter_rule`.

The space's range: the total is a sum over modules, and each module's count depends on a few genes (its slot, the
dimension genes in its shapes and arguments, the picks that route it). Genes that share a module form a group; the
minimum and maximum of the total are the sums of each group's minimum and maximum, found by enumerating the group's
options when it has at most ENUMERATION_LIMIT combinations: then the range is exact. A larger group is bounded by
each module's own minimum and maximum (a bound, said so).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pbtnas.compiler.activity import arg_genes
from pbtnas.compiler.routing import Route, route_conditions, routed_away_on, routed_prefixes
from pbtnas.compiler.selected import SelectedModule, concrete, gene_values, is_selected, numeric_values, \
    selected_modules
from pbtnas.layers.ops import BOOL_TRUE, get_op

ParameterRule = Callable[[tuple[int | None, ...], dict], int]
ENUMERATION_LIMIT = 4096


def _on(x: Any) -> bool:
    return x is True or (isinstance(x, str) and x in BOOL_TRUE)


def _conv(s: tuple[int | None, ...], a: dict) -> int:
    # conv [out, in / groups, k, k]; conv_transpose [in, out / groups, k, k]: the same count
    return s[0] * a["out"] // a["groups"] * a["k"] ** 2 + (a["out"] if _on(a["bias"]) else 0)


def _zero(s: tuple[int | None, ...], a: dict) -> int:
    return 0


_RULES: dict[str, ParameterRule] = {
    "conv": _conv, "conv_transpose": _conv,
    "linear": lambda s, a: s[-1] * a["out"] + (a["out"] if _on(a["bias"]) else 0),  # on the last dimension
    "batchnorm": lambda s, a: 2 * s[0] if _on(a["affine"]) else 0,
    # the sequence ops (pbtnas/layers/sequence.py)
    "conv1d": lambda s, a: s[0] * a["out"] // a["groups"] * a["k"] + (a["out"] if _on(a["bias"]) else 0),
    "batchnorm1d": lambda s, a: 2 * s[0] if _on(a["affine"]) else 0,
    # in_proj [3D, D] and out_proj [D, D], whatever the heads; their biases [3D] and [D]
    "attention": lambda s, a: 4 * s[-1] ** 2 + (4 * s[-1] if _on(a["bias"]) else 0),
    "patch_embed": lambda s, a: s[0] * a["out"] * a["patch"] ** 2 + a["out"],
    "pos_embed": lambda s, a: s[0] * s[1],
    "cls_token": lambda s, a: s[-1],
    "embedding": lambda s, a: a["vocab"] * a["out"],
    "layernorm": lambda s, a: 2 * s[-1],
    # two 1x1 convs without bias to out // 2 and out - out // 2 channels, then a batchnorm over out
    "factorized_reduce": lambda s, a: s[0] * a["out"] + (2 * a["out"] if _on(a["affine"]) else 0),
    **{name: _zero for name in (
        "activation", "dropout", "avg_pool", "max_pool", "zero", "upsample", "resize", "flatten", "reshape", "slice",
        "scale", "global_sum_pool", "global_avg_pool", "relu", "tanh", "sigmoid", "swish", "gelu", "elu",
        "leaky_relu", "hardswish", "hardsigmoid", "max_pool1d", "avg_pool1d", "transpose", "mean_tokens",
        "first_token")},
}


# The arguments each rule reads: a gene in another argument (spectral norm on or off, an activation) changes no count,
# so it does not tie the gene to the slot when the range is enumerated. A registered rule may read every argument.
_READS: dict[str, frozenset[str]] = {
    "conv": frozenset({"out", "k", "groups", "bias"}), "conv_transpose": frozenset({"out", "k", "groups", "bias"}),
    "linear": frozenset({"out", "bias"}), "batchnorm": frozenset({"affine"}), "layernorm": frozenset(),
    "factorized_reduce": frozenset({"out", "affine"}),
    "conv1d": frozenset({"out", "k", "groups", "bias"}), "batchnorm1d": frozenset({"affine"}),
    "attention": frozenset({"bias"}), "patch_embed": frozenset({"out", "patch"}), "pos_embed": frozenset(),
    "cls_token": frozenset(), "embedding": frozenset({"vocab", "out"}),
}


def register_parameter_rule(op: str, rule: ParameterRule) -> None:
    """How many learnable parameters `op` has for a concrete input shape and arguments (a plugin's op)."""
    _RULES[op] = rule
    _READS.pop(op, None)


def has_rule(op: str) -> bool:
    return op in _RULES


def _no_weights(op: str) -> bool:
    return _RULES.get(op) is _zero


_measured: dict[str, int] = {}


def measure(m: SelectedModule) -> int:
    """An op without a rule: build the one module (torch) and count; memoised by op, shape and arguments."""
    key = json.dumps([m.op, m.in_shape, m.args], sort_keys=True, default=str)
    if key not in _measured:
        spec = get_op(m.op)
        if spec is None:
            raise ValueError(f"op `{m.op}` is not registered (import its plugin)")
        _measured[key] = sum(p.numel() for p in spec.build(m.in_shape, m.args).parameters())
    return _measured[key]


def module_parameters(m: SelectedModule, build_unknown: bool = True) -> int | None:
    rule = _RULES.get(m.op)
    if rule is not None:
        return rule(m.in_shape, m.args)
    return measure(m) if build_unknown else None


@dataclass(frozen=True)
class GenomeParameters:
    """A genome's parameters: in total, per network, per gene (the weights under the gene's prefixes)."""

    total: int
    networks: dict[str, int]
    genes: dict[int, int]


def genome_parameters(artifact: dict, genome: Sequence[int]) -> GenomeParameters:
    """Every built module's parameters (exactly `sum(p.numel())` of `space.build(genome)`)."""
    counts = [(m.path, module_parameters(m)) for m in selected_modules(artifact, genome)]
    networks = {net["name"]: 0 for net in artifact["networks"]}
    for path, n in counts:
        networks[path.split(".", 1)[0]] += n
    genes = {}
    for i, g in enumerate(artifact["genes"]):
        prefixes = tuple(g["prefixes"])
        if prefixes:
            genes[i] = sum(n for path, n in counts if (path + ".").startswith(prefixes))
    return GenomeParameters(sum(networks.values()), networks, genes)


# ---- the space's range --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParameterRange:
    low: int | None
    high: int | None
    exact: bool  # False: low and high bound the true minimum and maximum
    uncounted_ops: tuple[str, ...] = ()  # ops without a rule (then low and high are None)

    def text(self) -> str:
        if self.uncounted_ops:
            return (f"not counted: op(s) {', '.join(self.uncounted_ops)} have no parameter rule "
                    "(`pbtnas show` counts a genome by building it)")
        span = f"{self.low:,} .. {self.high:,}" if self.low != self.high else f"{self.low:,}"
        return span if self.exact else f"{span} (a bound: genes too entangled to enumerate)"


@dataclass
class _Group:
    genes: list[int]
    entries: list[dict] = field(default_factory=list)


def _depends_on(entry: dict, by_name: dict[str, int], route_picks: dict[str, set[int]]) -> set[int]:
    deps = set() if entry["gene"] is None else {entry["gene"]}
    for d in entry["in"]:
        deps |= arg_genes(d, by_name)
    reads = _READS.get(entry["op"])
    for k, v in entry["args"].items():
        if reads is None or k in reads:
            deps |= arg_genes(v, by_name)
    path = entry["path"] + "."
    for prefix, picks in route_picks.items():
        if path.startswith(prefix):
            deps |= picks
    return deps


def parameter_range(artifact: dict) -> ParameterRange:
    """The minimum and maximum parameters over every genome of the space (module docstring)."""
    genes = artifact["genes"]
    uncounted = sorted({e["op"] for e in artifact["modules"] if not has_rule(e["op"])})
    if uncounted:
        return ParameterRange(None, None, False, tuple(uncounted))
    by_name = {g["name"]: i for i, g in enumerate(genes)}
    routes = route_conditions(artifact["networks"], genes)
    route_picks = routed_prefixes(routes)
    parent = list(range(len(genes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    fixed, weighted = 0, []
    for entry in artifact["modules"]:
        if _no_weights(entry["op"]):
            continue
        deps = sorted(_depends_on(entry, by_name, route_picks))
        if not deps:
            fixed += module_parameters(concrete(entry, genes, [0] * len(genes), {}), build_unknown=False)
            continue
        for d in deps[1:]:
            parent[root(d)] = root(deps[0])
        weighted.append((entry, deps))
    groups: dict[int, _Group] = {}
    for entry, deps in weighted:
        groups.setdefault(root(deps[0]), _Group([])).entries.append(entry)
    for r, group in groups.items():
        group.genes = sorted({d for e in group.entries for d in _depends_on(e, by_name, route_picks)})
    low = high = fixed
    exact = True
    for group in groups.values():
        if math.prod(len(genes[g]["options"]) for g in group.genes) <= ENUMERATION_LIMIT:
            totals = [_entries_total(artifact, routes, group.entries, group.genes, combo)
                      for combo in itertools.product(*(range(len(genes[g]["options"])) for g in group.genes))]
            low, high = low + min(totals), high + max(totals)
            continue
        exact = False
        for entry in group.entries:
            deps = sorted(_depends_on(entry, by_name, route_picks))
            counts = [_entries_total(artifact, routes, [entry], deps, combo)
                      for combo in itertools.product(*(range(len(genes[g]["options"])) for g in deps))]
            low, high = low + min(counts), high + max(counts)
    return ParameterRange(low, high, exact)


def _entries_total(artifact: dict, routes: dict[str, list[Route]], entries: list[dict], gene_ids: list[int],
                   combo: tuple[int, ...]) -> int:
    """The parameters of these modules when the genes take `combo` (the others at 0: the modules do not read them)."""
    genes = artifact["genes"]
    genome = [0] * len(genes)
    for g, v in zip(gene_ids, combo):
        genome[g] = v
    numeric = numeric_values(gene_values(genes, genome))
    away = routed_away_on(routes, genome)
    return sum(module_parameters(concrete(e, genes, genome, numeric), build_unknown=False)
               for e in entries if is_selected(e, genome, away))


def format_count(n: int) -> str:
    if n < 1000:
        return str(n)
    exp = int(math.log10(n)) // 3
    return f"{n / 10 ** (3 * exp):.2f}{' kMGT'[exp]}"
