"""Inactive genes and the number of distinct architectures of a compiled space.

A genome's network is what computing its results needs. Evaluating lazily from each network's results, as the
builder's specialiser resolves the IR (`builder._Specialiser`) but only on demand, a layer is **active** when a
result uses its output, and a gene is **active** when that evaluation reads it: a slot whose layers it applies or
whose `none` option decides a tensor's presence, a `when` condition or `pick` it decides, or an active layer whose
weights or arguments it sizes. (The builder still creates and runs every layer a genome's slots select, so the
state dict keeps its keys; inactive layers simply do not reach an output.) Every other gene is **inactive**: changing it changes no layer the results depend on, so two genomes that differ only in inactive
genes build the same network (the same active layers, applied in the same way).

Which genes are active is a function of the active genes' values alone (the evaluation only reads active genes),
so the number of distinct architectures is the number of distinct *active projections* (a genome with its inactive
genes blanked). It is counted without enumerating the space:

1. `_Conditions` derives, for every gene, the condition under which it is active: a DNF over genes, computed by the
   same demand-driven walk over the IR but symbolically (the `when` conditions, `pick` choices and slot options on
   the way, and the presence of tensors that `??` and absent inputs test). A DNF that grows past `MAX_CUBES` is
   replaced by the set of genes it mentions, which is all the counting needs (a superset of what it depends on);
   otherwise every operation on DNFs is exact, so the genes a condition mentions, minimised over its truth table,
   are a superset of the genes the activity depends on. A smaller set would undercount: it must never be guessed.
2. Genes are grouped into components: a gene and the genes its activity depends on are one component.
3. In each component, only the controlling genes (those some activity depends on) are enumerated, and only as far
   as they are active: the evaluation branches on a controller when it first reads it. Each leaf is a projection
   of the controllers (leaves with the same projection are merged, and must activate the same genes) and
   contributes the product of the option counts of the component's other active genes. The components are
   independent, so the total is the product.

A component whose controllers have more than `limit` joint assignments is explored for `TRY_BUDGET` evaluations
only (not at all past `TRY_FACTOR` times the limit); if that does not finish, the result says so (`ArchitectureCount.value is None` and a reason), never a wrong
number.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pbtnas.compiler.guards import Alt, Cube, simplify
from pbtnas.layers.dims import Dim

MAX_CUBES = 16  # a DNF larger than this keeps only the genes it mentions
DEFAULT_LIMIT = 20_000  # joint assignments of one component's controlling genes that are always explored
TRY_BUDGET = 1_000  # evaluations tried on a component with more assignments than the limit (most are inactive)
TRY_FACTOR = 100  # ... if it has at most this many times the limit


@dataclass(frozen=True)
class Activity:
    """What one genome's network reads: the active genes (genome indices) and the module paths of active layers."""

    genes: frozenset[int]
    paths: frozenset[str]


@dataclass(frozen=True)
class ArchitectureCount:
    value: int | None  # None: not computed (see `reason`)
    reason: str = ""
    components: int = 0
    enumerated: int = 0  # evaluations of the network's activity it took

    def text(self) -> str:
        if self.value is None:
            return f"not computed: {self.reason}"
        n = self.value
        exp = len(str(n)) - 1
        return f"{n:,} ≈ {n / 10 ** exp:.2f}e{exp}" if exp >= 3 else f"{n:,}"


# ---- the artifact, indexed ------------------------------------------------------------------------------------------

def _dim_genes(d: Any, by_name: dict[str, int]) -> set[int]:
    if not isinstance(d, dict) or "dim" not in d:
        return set()
    return {by_name[s] for s in Dim.from_json(d["dim"]).symbols if s in by_name}


def arg_genes(v: Any, by_name: dict[str, int]) -> set[int]:
    """The genes an op argument or a shape reads: a gene reference, or the dimension genes in a symbolic size."""
    if isinstance(v, dict):
        if "gene" in v:
            return {v["gene"]}
        return _dim_genes(v, by_name)
    if isinstance(v, list):
        return set().union(*(arg_genes(x, by_name) for x in v)) if v else set()
    return set()


class _Index:
    """Per module path, the entries the builder may create there and the genes each one reads."""

    def __init__(self, artifact: dict):
        self.a = artifact
        self.n_options = [len(g["options"]) for g in artifact["genes"]]
        by_name = {g["name"]: i for i, g in enumerate(artifact["genes"])}
        self.entries: dict[str, list[tuple[int | None, int | None, frozenset[int]]]] = {}
        for m in artifact["modules"]:
            reads = set().union(*(arg_genes(v, by_name) for v in m["args"].values())) if m["args"] else set()
            for d in m["in"]:
                reads |= _dim_genes(d, by_name)
            if m["gene"] is not None:
                reads.add(m["gene"])
            self.entries.setdefault(m["path"], []).append((m["gene"], m["option"], frozenset(reads)))

    def slot_layers(self, node: dict) -> list[Any]:
        return self.a["slots"][node.get("layers", str(node["gene"]))]


# ---- one genome: the lazy specialiser --------------------------------------------------------------------------------

class _Lazy:
    """The builder's resolution of the IR, on demand from the results, in two modes: asking whether a tensor
    exists (the conditions, slot choices and picks that decide it) and computing it (applying its layers). A tensor
    whose value no result uses, e.g. the first operand of `a ?? b` when `a` is absent, or a block past a unit's
    depth, applies no layer here.

    The demand is propagated statement by statement, backwards (a node is used only below its statement), so a
    network of 10,000 unrolled cells needs no deep recursion: presence is computed forwards first, without reads."""

    def __init__(self, index: _Index, genome: Sequence[int]):
        self.ix, self.genome = index, genome
        self.genes: set[int] = set()
        self.paths: set[str] = set()

    def run(self) -> Activity:
        for net in self.ix.a["networks"]:
            self.pres: dict[str, bool] = {name: True for name in net["inputs"]}
            for var, e in net["stmts"]:
                self.pres[var] = self.p(e)
            self.vdemand: set[str] = set()
            self.pdemand: set[str] = set()
            result = net["result"]
            for item in result["items"] if result.get("t") == "tuple" else [result]:
                self.presence(item)
                if self.p(item):
                    self.value(item)
            for var, e in reversed(net["stmts"]):
                if var in self.vdemand:
                    self.value(e)
                if var in self.pdemand:
                    self.presence(e)
        return Activity(frozenset(self.genes), frozenset(self.paths))

    def read(self, g: int) -> int:
        self.genes.add(g)
        require = getattr(self.genome, "require", None)
        if require is not None:
            require(g)
        return self.genome[g]

    # what the genome computes, without recording reads
    def p(self, e: dict) -> bool:
        t = e["t"]
        if t == "var":
            return self.pres[e["name"]]
        if t == "absent":
            return False
        if t == "apply":
            return self.p(e["x"]) and self.lp(e["layer"])
        if t in ("sum", "add", "cat"):
            return any(self.p(i) for i in e["items"])
        if t == "mul":
            return self.p(e["items"][0]) and self.p(e["items"][1])
        if t == "pick":
            return self.p(e["choices"][self.genome[e["gene"]]])
        if t == "otherwise":
            return self.p(e["a"]) or self.p(e["b"])
        if t == "when":
            branch = e["then"] if self.c(e["cond"]) else e["else"]
            return branch is not None and self.p(branch)
        raise ValueError(f"unknown IR node {t!r}")

    def c(self, c: dict) -> bool:
        t = c["t"]
        if t == "gene_in":
            return self.genome[c["gene"]] in c["options"]
        if t == "const":
            return bool(c["value"])
        if t == "present":
            return self.pres[c["var"]]
        if t == "and":
            return self.c(c["a"]) and self.c(c["b"])
        if t == "or":
            return self.c(c["a"]) or self.c(c["b"])
        if t == "not":
            return not self.c(c["a"])
        raise ValueError(f"unknown condition {t!r}")

    def lp(self, l: dict) -> bool:
        t = l["t"]
        if t in ("op", "identity", "residual"):
            return True
        if t == "none":
            return False
        if t == "seq":
            return all(self.lp(item) for item in l["items"])
        if t == "slot":
            return self.lp(self.ix.slot_layers(l)[self.genome[l["gene"]]])
        raise ValueError(f"unknown layer node {t!r}")

    # what asking for a tensor's presence, or computing it, reads
    def presence(self, e: dict) -> None:
        t = e["t"]
        if t == "var":
            self.pdemand.add(e["name"])
        elif t == "apply":
            self.presence(e["x"])
            if self.p(e["x"]):
                self.layer_presence(e["layer"])
        elif t in ("sum", "add", "cat"):  # every term is asked: the reads are symmetric
            for i in e["items"]:
                self.presence(i)
        elif t == "mul":
            self.presence(e["items"][0])
            if self.p(e["items"][0]):
                self.presence(e["items"][1])
        elif t == "pick":
            self.presence(e["choices"][self.read(e["gene"])])
        elif t == "otherwise":
            self.presence(e["a"])
            if not self.p(e["a"]):
                self.presence(e["b"])
        elif t == "when":
            self.cond(e["cond"])
            branch = e["then"] if self.c(e["cond"]) else e["else"]
            if branch is not None:
                self.presence(branch)

    def value(self, e: dict) -> None:
        """Compute `e`, which is present for this genome."""
        t = e["t"]
        if t == "var":
            self.vdemand.add(e["name"])
        elif t == "apply":
            self.value(e["x"])
            self.layer_value(e["layer"])
        elif t in ("sum", "add", "cat"):
            for i in e["items"]:
                self.presence(i)
                if self.p(i):
                    self.value(i)
        elif t == "mul":
            self.value(e["items"][0])
            self.value(e["items"][1])
        elif t == "pick":
            self.value(e["choices"][self.read(e["gene"])])
        elif t == "otherwise":
            self.presence(e["a"])
            self.value(e["a"] if self.p(e["a"]) else e["b"])
        elif t == "when":
            self.cond(e["cond"])
            self.value(e["then"] if self.c(e["cond"]) else e["else"])

    def cond(self, c: dict) -> None:
        t = c["t"]
        if t == "gene_in":
            self.read(c["gene"])
        elif t == "present":
            self.pdemand.add(c["var"])
        elif t == "and":  # short-circuit, as the builder
            self.cond(c["a"])
            if self.c(c["a"]):
                self.cond(c["b"])
        elif t == "or":
            self.cond(c["a"])
            if not self.c(c["a"]):
                self.cond(c["b"])
        elif t == "not":
            self.cond(c["a"])

    def layer_presence(self, l: dict) -> None:
        if l["t"] == "seq":
            for item in l["items"]:
                self.layer_presence(item)
                if not self.lp(item):  # the builder stops at the first absent output
                    break
        elif l["t"] == "slot":
            self.layer_presence(self.ix.slot_layers(l)[self.read(l["gene"])])

    def layer_value(self, l: dict) -> None:
        t = l["t"]
        if t == "op":
            self.paths.add(l["path"])
            for gene, option, reads in self.ix.entries.get(l["path"], ()):
                if gene is None or self.genome[gene] == option:
                    self.genes |= reads
        elif t == "seq":
            for item in l["items"]:
                self.layer_value(item)
        elif t == "slot":
            self.layer_value(self.ix.slot_layers(l)[self.read(l["gene"])])
        elif t == "residual":
            self.layer_value(l["body"])


# ---- all genomes at once: activity conditions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Cond:
    """A set of genomes: a DNF of cubes over gene indices, or (`cubes is None`) only the genes it may depend on."""

    cubes: tuple[Cube, ...] | None
    support: frozenset[int]

    @property
    def false(self) -> bool:
        return self.cubes == ()


TRUE = Cond((Cube(),), frozenset())
FALSE = Cond((), frozenset())


def _support(cubes: Iterable[Cube]) -> frozenset[int]:
    return frozenset(g for c in cubes for g, _ in c.items)


class _Algebra:
    """DNF operations, memoised: the walk combines the same few conditions over and over (on GanHard 15,000
    simplifications of 1,400 distinct cube lists; 12,000 conjunctions of 2,400 distinct pairs), and each result is
    a pure function of its operands. The and/or caches are keyed by the operands' identities and keep the operands
    alive, so an id is never reused while its entry exists."""

    def __init__(self, n_options: list[int]):
        self.n = dict(enumerate(n_options))
        self._made: dict[tuple[Cube, ...], Cond] = {}
        self._genes: dict[tuple[int, tuple[int, ...]], Cond] = {}
        self._and: dict[tuple[int, int], tuple[Cond, Cond, Cond]] = {}
        self._or: dict[tuple[int, int], tuple[Cond, Cond, Cond]] = {}

    def make(self, cubes: Iterable[Cube]) -> Cond:
        key = tuple(cubes)
        made = self._made.get(key)
        if made is None:
            alts = simplify((Alt((), c) for c in key), self.n)
            kept = tuple(a.guard for a in alts)
            made = Cond(None, _support(kept)) if len(kept) > MAX_CUBES else Cond(kept, _support(kept))
            self._made[key] = made
        return made

    def gene(self, g: int, allowed: Iterable[int]) -> Cond:
        key = (g, tuple(allowed))
        made = self._genes.get(key)
        if made is None:
            cube = Cube.of(g, key[1], self.n[g])
            made = self._genes[key] = FALSE if cube is None else self.make([cube])
        return made

    def and_(self, a: Cond, b: Cond) -> Cond:
        if a.false or b.false:
            return FALSE
        if a.cubes is None or b.cubes is None:
            return Cond(None, a.support | b.support)
        hit = self._and.get((id(a), id(b)))
        if hit is not None:
            return hit[2]
        out = self.make(g for x in a.cubes for y in b.cubes if (g := x & y) is not None)
        self._and[(id(a), id(b))] = (a, b, out)
        return out

    def or_(self, a: Cond, b: Cond) -> Cond:
        if a.false:
            return b
        if b.false:
            return a
        if a.cubes is None or b.cubes is None:
            return Cond(None, a.support | b.support)
        hit = self._or.get((id(a), id(b)))
        if hit is not None:
            return hit[2]
        out = self.make(a.cubes + b.cubes)
        self._or[(id(a), id(b))] = (a, b, out)
        return out

    def not_(self, a: Cond) -> Cond:
        if a.cubes is None:
            return a
        out = TRUE
        for cube in a.cubes:  # not (c1 or c2 ...) = (not c1) and (not c2) ...; not c = some gene outside its set
            parts = [Cube.of(g, set(range(self.n[g])) - allowed, self.n[g]) for g, allowed in cube.items]
            out = self.and_(out, self.make(p for p in parts if p is not None))
            if out.false:
                return out
        return out


MAX_TABLE = 4096  # truth-table rows a condition's support is minimised over


def _exact_support(c: Cond, n_options: list[int]) -> Cond:
    """Drop the genes a DNF mentions but does not depend on (`a=1 and b=1 or a=0 or b=0` is every genome): the
    pairwise merging of `simplify` misses such tautologies, and every gene left in the support joins components."""
    if c.cubes is None or not c.support:
        return c
    genes = sorted(c.support)
    if math.prod(n_options[g] for g in genes) > MAX_TABLE:
        return c
    table = {}
    for row in itertools.product(*(range(n_options[g]) for g in genes)):
        at = dict(zip(genes, row))
        table[row] = any(all(at[g] in allowed for g, allowed in cube.items) for cube in c.cubes)
    needed = set()
    for k, g in enumerate(genes):
        for row, value in table.items():
            if any(table[row[:k] + (v,) + row[k + 1:]] != value for v in range(n_options[g])):
                needed.add(g)
                break
    if all(table.values()):
        return TRUE
    return Cond(None, frozenset(needed)) if needed != c.support else c


class _Conditions:
    """The demand-driven walk of `_Lazy`, over every genome at once: when each gene is read."""

    def __init__(self, index: _Index):
        self.ix = index
        self.al = _Algebra(index.n_options)
        self.active: dict[int, Cond] = {}

    def run(self) -> dict[int, Cond]:
        for net in self.ix.a["networks"]:
            self.pres: dict[str, Cond] = {name: TRUE for name in net["inputs"]}
            for var, e in net["stmts"]:
                self.pres[var] = self.present(e)
            self.vdemand: dict[str, Cond] = {}
            self.pdemand: dict[str, Cond] = {}
            result = net["result"]
            for item in result["items"] if result.get("t") == "tuple" else [result]:
                self.visit_presence(item, TRUE)
                self.visit_value(item, self.present(item))
            for var, e in reversed(net["stmts"]):  # a node is used only below its statement
                if var in self.vdemand:
                    self.visit_value(e, self.vdemand[var])
                if var in self.pdemand:
                    self.visit_presence(e, self.pdemand[var])
        return self.active

    def read(self, g: int, d: Cond) -> None:
        self.active[g] = self.al.or_(self.active.get(g, FALSE), d)

    # presence
    def present(self, e: dict) -> Cond:
        t, al = e["t"], self.al
        if t == "var":
            return self.pres[e["name"]]
        if t == "absent":
            return FALSE
        if t == "apply":
            return al.and_(self.present(e["x"]), self.layer_present(e["layer"]))
        if t in ("sum", "add", "cat"):
            out = FALSE
            for i in e["items"]:
                out = al.or_(out, self.present(i))
            return out
        if t == "mul":
            return al.and_(self.present(e["items"][0]), self.present(e["items"][1]))
        if t == "pick":
            out = FALSE
            for i, ch in enumerate(e["choices"]):
                out = al.or_(out, al.and_(al.gene(e["gene"], [i]), self.present(ch)))
            return out
        if t == "otherwise":
            return al.or_(self.present(e["a"]), self.present(e["b"]))
        if t == "when":
            c = self.cond(e["cond"])
            then = al.and_(c, self.present(e["then"]))
            other = self.present(e["else"]) if e["else"] is not None else FALSE
            return al.or_(then, al.and_(al.not_(c), other))
        raise ValueError(f"unknown IR node {t!r}")

    def layer_present(self, l: dict) -> Cond:
        t = l["t"]
        if t in ("op", "identity", "residual"):
            return TRUE
        if t == "none":
            return FALSE
        if t == "seq":
            out = TRUE
            for item in l["items"]:
                out = self.al.and_(out, self.layer_present(item))
            return out
        if t == "slot":
            out = FALSE
            for i, opt in enumerate(self.ix.slot_layers(l)):
                out = self.al.or_(out, self.al.and_(self.al.gene(l["gene"], [i]), self.layer_present(opt)))
            return out
        raise ValueError(f"unknown layer node {t!r}")

    def cond(self, c: dict) -> Cond:
        t, al = c["t"], self.al
        if t == "gene_in":
            return al.gene(c["gene"], c["options"])
        if t == "const":
            return TRUE if c["value"] else FALSE
        if t == "present":
            return self.pres[c["var"]]
        if t == "and":
            return al.and_(self.cond(c["a"]), self.cond(c["b"]))
        if t == "or":
            return al.or_(self.cond(c["a"]), self.cond(c["b"]))
        if t == "not":
            return al.not_(self.cond(c["a"]))
        raise ValueError(f"unknown condition {t!r}")

    # demand: `visit_*(e, d)` records what `_Lazy`'s evaluation of `e` reads in the genomes `d`
    def _demand(self, table: dict[str, Cond], name: str, d: Cond) -> None:
        table[name] = self.al.or_(table.get(name, FALSE), d)

    def visit_presence(self, e: dict, d: Cond) -> None:
        if d.false:
            return
        t, al = e["t"], self.al
        if t == "var":
            self._demand(self.pdemand, e["name"], d)
        elif t == "apply":
            self.visit_presence(e["x"], d)
            self.visit_layer_presence(e["layer"], al.and_(d, self.present(e["x"])))
        elif t in ("sum", "add", "cat"):
            for i in e["items"]:
                self.visit_presence(i, d)
        elif t == "mul":
            self.visit_presence(e["items"][0], d)
            self.visit_presence(e["items"][1], al.and_(d, self.present(e["items"][0])))
        elif t == "pick":
            self.read(e["gene"], d)
            for i, ch in enumerate(e["choices"]):
                self.visit_presence(ch, al.and_(d, al.gene(e["gene"], [i])))
        elif t == "otherwise":
            self.visit_presence(e["a"], d)
            self.visit_presence(e["b"], al.and_(d, al.not_(self.present(e["a"]))))
        elif t == "when":
            self.visit_cond(e["cond"], d)
            c = self.cond(e["cond"])
            self.visit_presence(e["then"], al.and_(d, c))
            if e["else"] is not None:
                self.visit_presence(e["else"], al.and_(d, al.not_(c)))

    def visit_value(self, e: dict, d: Cond) -> None:
        if d.false:
            return
        t, al = e["t"], self.al
        if t == "var":
            self._demand(self.vdemand, e["name"], d)
        elif t == "apply":
            self.visit_value(e["x"], d)
            self.visit_layer_value(e["layer"], d)
        elif t in ("sum", "add", "cat"):
            for i in e["items"]:
                self.visit_presence(i, d)
                self.visit_value(i, al.and_(d, self.present(i)))
        elif t == "mul":
            for i in e["items"]:
                self.visit_value(i, d)
        elif t == "pick":
            self.read(e["gene"], d)
            for i, ch in enumerate(e["choices"]):
                self.visit_value(ch, al.and_(d, al.gene(e["gene"], [i])))
        elif t == "otherwise":
            self.visit_presence(e["a"], d)
            here = self.present(e["a"])
            self.visit_value(e["a"], al.and_(d, here))
            self.visit_value(e["b"], al.and_(d, al.not_(here)))
        elif t == "when":
            self.visit_cond(e["cond"], d)
            c = self.cond(e["cond"])
            self.visit_value(e["then"], al.and_(d, c))
            if e["else"] is not None:
                self.visit_value(e["else"], al.and_(d, al.not_(c)))

    def visit_cond(self, c: dict, d: Cond) -> None:
        if d.false:
            return
        t, al = c["t"], self.al
        if t == "gene_in":
            self.read(c["gene"], d)
        elif t == "present":
            self._demand(self.pdemand, c["var"], d)
        elif t == "and":  # short-circuit, as the builder: `b` is read only where `a` holds
            self.visit_cond(c["a"], d)
            self.visit_cond(c["b"], al.and_(d, self.cond(c["a"])))
        elif t == "or":
            self.visit_cond(c["a"], d)
            self.visit_cond(c["b"], al.and_(d, al.not_(self.cond(c["a"]))))
        elif t == "not":
            self.visit_cond(c["a"], d)

    def visit_layer_presence(self, l: dict, d: Cond) -> None:
        if d.false:
            return
        if l["t"] == "seq":
            for item in l["items"]:
                self.visit_layer_presence(item, d)
                d = self.al.and_(d, self.layer_present(item))
        elif l["t"] == "slot":
            self.read(l["gene"], d)
            for i, opt in enumerate(self.ix.slot_layers(l)):
                self.visit_layer_presence(opt, self.al.and_(d, self.al.gene(l["gene"], [i])))

    def visit_layer_value(self, l: dict, d: Cond) -> None:
        if d.false:
            return
        t, al = l["t"], self.al
        if t == "op":
            for gene, option, reads in self.ix.entries.get(l["path"], ()):
                where = d if gene is None else al.and_(d, al.gene(gene, [option]))
                for g in reads:
                    self.read(g, where)
        elif t == "seq":
            for item in l["items"]:
                self.visit_layer_value(item, d)
        elif t == "slot":
            self.read(l["gene"], d)
            for i, opt in enumerate(self.ix.slot_layers(l)):
                self.visit_layer_value(opt, al.and_(d, al.gene(l["gene"], [i])))
        elif t == "residual":
            self.visit_layer_value(l["body"], d)


# ---- counting --------------------------------------------------------------------------------------------------------

class ActivityModel:
    """Activity of one genome, activity conditions of every gene, and the distinct-architecture count."""

    def __init__(self, artifact: dict):
        self.index = _Index(artifact)
        self.n_options = self.index.n_options
        self._conditions: dict[int, Cond] | None = None

    def of(self, genome: Sequence[int]) -> Activity:
        return _Lazy(self.index, genome).run()

    def conditions(self) -> dict[int, Cond]:
        """Per gene, the genomes in which it is active (FALSE for a gene no genome reads)."""
        if self._conditions is None:
            found = _Conditions(self.index).run()
            self._conditions = {g: _exact_support(found.get(g, FALSE), self.n_options)
                                for g in range(len(self.n_options))}
        return self._conditions

    def count(self, limit: int = DEFAULT_LIMIT) -> ArchitectureCount:
        conds = self.conditions()
        n = len(self.n_options)
        parent = list(range(n))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for g, c in conds.items():
            for h in c.support:
                parent[find(g)] = find(h)
        groups: dict[int, list[int]] = {}
        for g in range(n):
            groups.setdefault(find(g), []).append(g)
        base = self.of([0] * n)  # components without controllers: their genes' activity is constant
        total, used = 1, 0
        for members in groups.values():
            controllers = frozenset().union(*(conds[g].support for g in members))
            if not controllers:
                total *= math.prod(self.n_options[g] for g in members if g in base.genes)
                continue
            # a decision tree of at most `assignments` leaves has at most len(controllers) + 1 nodes per leaf
            assignments = math.prod(self.n_options[c] for c in controllers)
            # over the limit, a short try: most choices may be inactive; far over it, none at all
            budget = _Budget(assignments * (len(controllers) + 1) if assignments <= limit
                             else TRY_BUDGET if assignments <= TRY_FACTOR * limit else 0)
            part = self._component(members, controllers, budget)
            used += budget.used
            if part is None:
                names = [self.index.a["genes"][c]["name"] for c in sorted(controllers)]
                shown = ", ".join(f"`{x}`" for x in names[:4]) + (f" and {len(names) - 4} more"
                                                                   if len(names) > 4 else "")
                why = (f"{assignments:,} joint choices, over the limit of {limit:,}" if assignments > limit
                       else "their choices do not decide it consistently")
                return ArchitectureCount(None, f"the activity of {len(members)} genes depends jointly on "
                                               f"{len(names)} genes ({shown}): {why}", len(groups), used)
            total *= part
        return ArchitectureCount(total, "", len(groups), used)

    def _component(self, members: list[int], controllers: frozenset[int], budget: "_Budget") -> int | None:
        """Explore the controllers' decision tree: evaluate with a partial assignment and branch on the first
        controller the evaluation reads that has no value yet. Only active genes are read, so every leaf is one
        distinct projection of the controllers, and the component's count is the sum over leaves of the product
        of its other active genes' option counts."""
        free = [g for g in members if g not in controllers]
        leaves: dict[tuple, frozenset[int]] = {}
        stack: list[dict[int, int]] = [{}]
        while stack:
            assigned = stack.pop()
            if not budget.spend():
                return None
            try:
                active = _Lazy(self.index, _Partial(len(self.n_options), controllers, assigned)).run().genes
            except _Unassigned as need:
                stack.extend({**assigned, need.gene: v} for v in range(self.n_options[need.gene]))
                continue
            key = tuple(sorted((g, v) for g, v in assigned.items() if g in active))
            if leaves.setdefault(key, active & frozenset(members)) != active & frozenset(members):
                return None  # cannot happen when every decision reads its gene; never count a guess
        return sum(math.prod(self.n_options[g] for g in free if g in active) for active in leaves.values())


class _Unassigned(Exception):
    def __init__(self, gene: int):
        self.gene = gene


class _Partial:
    """A genome whose controlling genes are read only once assigned; the other genes do not change activity."""

    def __init__(self, n: int, controllers: frozenset[int], assigned: dict[int, int]):
        self.n, self.controllers, self.assigned = n, controllers, assigned

    def __len__(self) -> int:
        return self.n

    def require(self, g: int) -> None:
        """Reading a controller decides it: branch here. (A value merely looked at is 0 until then: every
        decision that depends on a gene also reads it, so a finished run has read what it used.)"""
        if g in self.controllers and g not in self.assigned:
            raise _Unassigned(g)

    def __getitem__(self, g: int) -> int:
        return self.assigned.get(g, 0)


class _Budget:
    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def spend(self) -> bool:
        self.used += 1
        return self.used <= self.limit


def active_keys(activity: Activity, keys: Iterable[str]) -> list[str]:
    """The state-dict keys of active layers: a layer's keys are its module path plus a (possibly dotted) name."""
    return [k for k in keys if _module_of(k, activity.paths)]


def _module_of(key: str, paths: frozenset[str]) -> bool:
    parts = key.split(".")
    return any(".".join(parts[:i]) in paths for i in range(1, len(parts)))
