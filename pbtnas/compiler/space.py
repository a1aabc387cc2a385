"""The compiled space: genome layout, exact size, weight ownership, schema hash, and the builder.

`compile_space` runs parse -> elaborate -> serialise. The artifact is plain JSON (`to_json`), so the engine can
ship it to Ray workers and rebuild networks there without the `.nas` file and without pickling package objects.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from pbtnas.compiler import routing
from pbtnas.compiler.activity import Activity, ActivityModel, ArchitectureCount
from pbtnas.layers.dims import Dim
from pbtnas.compiler.parameters import GenomeParameters, ParameterRange, genome_parameters, parameter_range
from pbtnas.compiler.elaborate import Elaborator, GeneDef, Program
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Collector, Diagnostic, DiagnosticError, Source
from pbtnas.dsl.parser import parse
from pbtnas.errors import EXIT_DIAGNOSTICS, UserError

if TYPE_CHECKING:  # numpy and torch load when a genome is drawn or a network built, not when compiling
    import numpy as np
    from torch import nn

    from pbtnas.compiler.builder import Builder

ARTIFACT_FORMAT = 1


class GenomeError(UserError, ValueError):
    """A genome that does not belong to this space (wrong length, value out of range, foreign schema)."""

    exit_code = EXIT_DIAGNOSTICS


@dataclass(frozen=True)
class Gene:
    index: int
    name: str
    kind: str  # slot | param
    options: tuple[str, ...]
    values: tuple[Any, ...]
    owns_weights: bool
    prefixes: tuple[str, ...]
    linked: tuple[int, ...]
    shapes: str = ""  # the interface, for people: "[256, H, W] -> [256, 2*H, 2*W]"


@dataclass(frozen=True)
class Genome:
    values: tuple[int, ...]
    schema_hash: str

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):
        return iter(self.values)

    def __getitem__(self, i: int) -> int:
        return self.values[i]


def _serialise_value(v: Any) -> Any:
    """IR with GeneDef/Dim objects -> plain JSON data (exact type tests: this runs over every IR node)."""
    t = type(v)
    if t is dict:
        # IR nodes name their gene directly (`{"t": "slot", "gene": 3}`); op arguments wrap it (`{"gene": 3}`)
        return {k: (x.index if k == "gene" and type(x) is GeneDef else _serialise_value(x)) for k, x in v.items()}
    if t is list or t is tuple:
        return [_serialise_value(x) for x in v]
    if t is GeneDef:
        return {"gene": v.index}
    if t is Dim:
        return {"dim": v.to_json()}
    return v


_V2_OPTIONAL = frozenset({"index", "tied"})


def _ast_fingerprint(node: Any) -> Any:
    """The AST as plain data without source positions or constant values: what the schema depends on."""
    if isinstance(node, ast.ConstDecl):
        return ["const", node.name]
    if dataclasses.is_dataclass(node):
        # Fields added by language v2 are left out when unused, so the spaces written before keep their hashes.
        return [type(node).__name__] + [_ast_fingerprint(getattr(node, f.name)) for f in dataclasses.fields(node)
                                        if f.name not in ("span", "name_span", "fn_span", "group_span", "values_span")
                                        and not (f.name in _V2_OPTIONAL and getattr(node, f.name) is None)]
    if isinstance(node, list):
        return [_ast_fingerprint(x) for x in node]
    return node


def _interface(g: GeneDef) -> str:
    return f"[{', '.join(map(str, g.in_pattern))}] -> [{', '.join(map(str, g.out_pattern))}]"


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a compile allocates: the AST, the program and the artifact are large and
    mostly acyclic, and a collection every few hundred allocations rescans all of them (DARTS at 20 cells: 200 to
    370 ms a compile with it on, about half with it off). Whatever cycles a compile leaves are collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _artifact(program: Program, module: ast.Module) -> dict:
    """The artifact of a checked program: plain JSON data, built without reference cycles."""
    with gc_paused():
        return _layout(program, module)


def _layout(program: Program, module: ast.Module) -> dict:
    genes = program.genes
    # Weight ownership: a slot owns its own prefix; a dimension gene owns every fixed layer its value shapes.
    owned: dict[int, list[str]] = {g.index: [] for g in genes}
    links: dict[int, set[int]] = {g.index: set() for g in genes}
    sym_to_gene = {g.symbol: g for g in genes if g.numeric}
    modules = []
    for rec in program.ops.values():
        dims_union: set[str] = set()
        for dims in rec.param_dims:
            for d in dims:
                dims_union |= d.symbols
        shaping = sorted({sym_to_gene[s].index for s in dims_union if s in sym_to_gene})
        if rec.slot is None:
            if shaping:
                owner = shaping[0]
                owned[owner].append(rec.path + ".")
                for other in shaping[1:]:
                    links[owner].add(other)
                    links[other].add(owner)
        else:
            for other in shaping:
                links[rec.slot.index].add(other)
                links[other].add(rec.slot.index)
        in_shape = []
        for i in range(len(rec.in_shapes[0]) if rec.in_shapes else 0):
            col = {s[i] for s in rec.in_shapes}
            in_shape.append({"dim": next(iter(col)).to_json()} if len(col) == 1 else None)
        args = {}
        if rec.slot is None:
            args = None  # filled below from the IR
        modules.append({"path": rec.path, "op": rec.spec.name, "in": in_shape,
                        "gene": rec.slot.index if rec.slot is not None else None,
                        "option": rec.option, "args": args})
    # The IR serialised once: the artifact's networks and slots are these, and the op arguments of `modules` are read
    # from them (serialising the arguments again per op was a fifth of DARTS's layout)
    serial = [([[var, _serialise_value(ir)] for var, ir in net.stmts], _serialise_value(net.result))
              for net in program.networks]
    option_layers = {id(g): _serialise_value(g.option_layers) for g in [*genes, *program.tied_slots]}
    op_args: dict[tuple[str, int | None], dict] = {}

    def walk(node: Any, option: int | None) -> None:
        if type(node) is dict:
            if node.get("t") == "op":
                op_args[(node["path"], option)] = node["args"]
            for k, v in node.items():
                if k != "args":
                    walk(v, option)
        elif type(node) is list:
            for v in node:
                walk(v, option)

    for stmts, result in serial:
        walk(stmts, None)
        walk(result, None)
    for g in [*genes, *program.tied_slots]:
        for i, layer in enumerate(option_layers[id(g)]):
            walk(layer, i)
    for m in modules:
        m["args"] = op_args.get((m["path"], m["option"]), {})

    # routing.py: a layer under a branch of a pick condition exists for some picks only: its slot travels with the
    # picks, and a fixed layer there is the picks' own
    route_links, route_owned = routing.pick_links([{"stmts": st, "result": res} for st, res in serial],
                                                  [{"name": g.name, "kind": g.kind} for g in genes])
    for slot, pick in route_links:
        links[slot].add(pick)
        links[pick].add(slot)
    for pick, prefix in route_owned:
        if prefix not in owned[pick]:
            owned[pick].append(prefix)
    # `linked` lists the whole group a gene travels with (links are transitive: a shares a layer with b, b with c).
    for start in list(links):
        group, frontier = {start}, [start]
        while frontier:
            for j in links[frontier.pop()]:
                if j not in group:
                    group.add(j)
                    frontier.append(j)
        links[start] = group
    gene_entries = []
    for g in genes:
        prefixes = []
        # a tied slot's layers are its followers' (one per instance, each under its own prefix): it owns them all
        layer_owners = g.followers or [g]
        weighted = any(f.weighted_options for f in layer_owners) if g.kind == "slot" else bool(owned[g.index])
        if g.kind == "slot":
            prefixes += [f.name + "." for f in layer_owners if f.weighted_options]
        prefixes += owned[g.index]
        gene_entries.append({
            "name": g.name, "kind": g.kind, "options": list(g.options), "values": list(g.values),
            "owns_weights": weighted, "prefixes": prefixes, "linked": sorted(links[g.index] - {g.index}),
            "none_options": sorted(g.none_options),
            "shapes": " | ".join(dict.fromkeys(_interface(f) for f in layer_owners if f.in_pattern))
            if g.kind == "slot" else "",  # a tied gene: each width its instances have
        })
    networks = []
    for net, (stmts, result) in zip(program.networks, serial):
        networks.append({
            "name": net.name, "inputs": net.inputs,
            "input_shapes": [[d.int_value() for d in s] for s in net.input_shapes],
            "stmts": stmts, "result": result, "n_outputs": net.n_outputs,
            "output_shapes": [[[str(d) for d in s] for s in alts] for alts in net.output_shapes],
        })
    slots = {str(g.index): option_layers[id(g)] for g in genes if g.kind == "slot"}
    slots.update({f.name: option_layers[id(f)] for f in program.tied_slots})  # by the IR's "layers"
    schema = hashlib.sha256(json.dumps({
        "space": program.space,
        "genes": [[g.name, g.kind, list(g.options)] for g in genes],
        "source": _ast_fingerprint(module),
    }, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {
        "format": ARTIFACT_FORMAT, "space": program.space, "schema_hash": schema,
        "constants": program.constants, "genes": gene_entries, "networks": networks, "modules": modules,
        "slots": slots, "init": {k: [s, a] for k, (s, a) in program.init.items()},
    }


class CompiledSpace:
    def __init__(self, artifact: dict, source: Source | None = None, warnings: Sequence[Diagnostic] = ()):
        if artifact.get("format") != ARTIFACT_FORMAT:
            raise ValueError(f"compiled space format {artifact.get('format')!r} is not {ARTIFACT_FORMAT}; "
                             "recompile the .nas file with this version of pbtnas")
        self.artifact = artifact
        self.source = source
        self.warnings = list(warnings)
        self.name: str = artifact["space"]
        self.schema_hash: str = artifact["schema_hash"]
        self.constants: dict[str, Any] = dict(artifact["constants"])
        self.genes: tuple[Gene, ...] = tuple(
            Gene(i, g["name"], g["kind"], tuple(g["options"]), tuple(g["values"]), g["owns_weights"],
                 tuple(g["prefixes"]), tuple(g["linked"]), g.get("shapes", ""))
            for i, g in enumerate(artifact["genes"]))
        self.networks: tuple[str, ...] = tuple(n["name"] for n in artifact["networks"])
        self._builder: Builder | None = None  # made on the first build: torch loads then, not when compiling
        self._by_name = {g.name: g for g in self.genes}
        self._activity: ActivityModel | None = None
        self._architectures: ArchitectureCount | None = None
        self._parameter_range: ParameterRange | None = None

    # -- size and layout ---------------------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return math.prod(len(g.options) for g in self.genes)

    def size_text(self) -> str:
        n = self.size
        exp = len(str(n)) - 1
        return f"{n:,} ≈ {n / 10 ** exp:.2f}e{exp}" if exp >= 3 else f"{n:,}"

    def architectures(self) -> ArchitectureCount:
        """The number of distinct networks: genomes that differ only in inactive genes count once (activity.py)."""
        if self._architectures is None:
            with gc_paused():  # tens of thousands of small, acyclic DNF objects (see gc_paused)
                self._architectures = self._activity_model().count()
        return self._architectures

    def activity(self, genome: Genome | Sequence[int]) -> Activity:
        """The genes a genome's network reads and the module paths of its active layers."""
        return self._activity_model().of(self.validate(genome).values)

    def _activity_model(self) -> ActivityModel:
        if self._activity is None:
            self._activity = ActivityModel(self.artifact)
        return self._activity

    def parameter_range(self) -> ParameterRange:
        """The fewest and most parameters a genome of the space has (exact, or a bound it says is one)."""
        if self._parameter_range is None:
            self._parameter_range = parameter_range(self.artifact)
        return self._parameter_range

    def parameters(self, genome: Genome | Sequence[int]) -> GenomeParameters:
        """A genome's exact parameters, per network and per gene, without building it."""
        return genome_parameters(self.artifact, self.validate(genome).values)

    def gene(self, name: str) -> Gene:
        return self._by_name[name]

    # -- genomes -----------------------------------------------------------------------------------------------------
    def validate(self, values: Iterable[int] | Genome) -> Genome:
        if isinstance(values, Genome):
            if values.schema_hash != self.schema_hash:
                raise GenomeError(f"the genome belongs to schema {values.schema_hash}, not to space `{self.name}` "
                                  f"(schema {self.schema_hash}); it was made for another version of the space")
            values = values.values
        try:
            vals = tuple(int(v) for v in values)
        except (TypeError, ValueError):
            raise GenomeError("a genome is a list of integers") from None
        if len(vals) != len(self.genes):
            raise GenomeError(f"space `{self.name}` has {len(self.genes)} genes, the genome has {len(vals)} values")
        for g, v in zip(self.genes, vals):
            if not 0 <= v < len(g.options):
                raise GenomeError(f"gene {g.index} `{g.name}` has {len(g.options)} options (0..{len(g.options) - 1}),"
                                  f" got {v}")
        return Genome(vals, self.schema_hash)

    def random_genome(self, rng: np.random.Generator) -> Genome:
        return Genome(tuple(int(rng.integers(len(g.options))) for g in self.genes), self.schema_hash)

    def decode(self, genome: Genome | Sequence[int]) -> dict[str, str]:
        genome = self.validate(genome)
        return {g.name: g.options[v] for g, v in zip(self.genes, genome.values)}

    def to_json_genome(self, genome: Genome | Sequence[int]) -> dict:
        genome = self.validate(genome)
        return {"space": self.name, "schema_hash": self.schema_hash, "values": list(genome.values),
                "choices": self.decode(genome)}

    def genome_from_json(self, data: dict) -> Genome:
        if not isinstance(data, dict) or "values" not in data:
            raise GenomeError("a genome file is a JSON object with `values` (and `schema_hash`, `choices`)")
        if data.get("schema_hash") not in (None, self.schema_hash):
            raise GenomeError(f"the genome was made for schema {data.get('schema_hash')} of space "
                              f"`{data.get('space', '?')}`; this space `{self.name}` has schema {self.schema_hash}")
        genome = self.validate(data["values"])
        choices = data.get("choices")
        if isinstance(choices, dict):  # names beside the ints must agree: a hand-edited file is caught here
            decoded = self.decode(genome)
            for name, option in choices.items():
                if decoded.get(name) != option:
                    raise GenomeError(f"gene `{name}`: the value says `{decoded.get(name)}` but the name says "
                                      f"`{option}`")
        return genome

    # -- networks and weights ----------------------------------------------------------------------------------------
    def build(self, genome: Genome | Sequence[int], seed: int | None = None, initialise: bool = True) -> nn.Module:
        genome = self.validate(genome)
        if self._builder is None:
            from pbtnas.compiler.builder import Builder

            self._builder = Builder(self.artifact)
        return self._builder.build(genome.values, seed, initialise)

    def owned_keys(self, index: int, keys: Iterable[str]) -> list[str]:
        prefixes = self.genes[index].prefixes
        if not prefixes:
            return []
        return [k for k in keys if k.startswith(prefixes)]

    # -- artifact ----------------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(self.artifact, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "CompiledSpace":
        return cls(json.loads(text))


def compile_text(text: str, filename: str = "<input>", overrides: dict[str, str] | None = None) -> CompiledSpace:
    source = Source(filename, text)
    with gc_paused():
        module = parse(text, filename)
        diag = Collector()
        program = Elaborator(module, overrides or {}, diag).run()
        diag.raise_if_errors(source)
        return CompiledSpace(_artifact(program, module), source, diag.items)


def compile_space(path: str | Path, overrides: dict[str, str] | None = None) -> CompiledSpace:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DiagnosticError([Diagnostic("E0002", f"no such file: {path}", hint="check the path")]) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:  # a directory, permissions, not UTF-8, a NUL byte
        raise DiagnosticError([Diagnostic("E0002", f"cannot read {path}: {err}",
                                          hint="give the path of a .nas text file")]) from None
    return compile_text(text, str(path), overrides)
