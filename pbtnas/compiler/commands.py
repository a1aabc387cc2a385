"""What `pbtnas compile | check | sample | show | ops` compute, as plain functions (the CLI in pbtnas/cli/spaces.py
renders them; notebooks and tests call them directly).

User mistakes raise ``UserError`` subclasses (``DiagnosticError`` and ``GenomeError`` exit 1); nothing here prints,
exits or imports torch, except ``describe_genome``, which builds the network to count its parameters.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from pbtnas.compiler.messages import signature
from pbtnas.compiler.flops import GenomeFlops
from pbtnas.compiler.parameters import GenomeParameters
from pbtnas.compiler.space import CompiledSpace, Genome, GenomeError, compile_space
from pbtnas.dsl.diagnostics import Diagnostic, DiagnosticError, render_json
from pbtnas.errors import EXIT_DIAGNOSTICS, UserError
from pbtnas.layers.ops import get_op, op_names

__all__ = [
    "ArtifactError", "GeneRow", "GenomeReport", "architectures_entry", "check_summary", "compile_summary",
    "describe_genome", "linked_groups", "load_plugins", "load_space", "op_rows", "parse_sets", "read_genome",
    "sample_genome", "write_artifact",
]


class ArtifactError(UserError):
    """The compiled artifact cannot be written where asked."""

    exit_code = EXIT_DIAGNOSTICS


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """`--set a=1 --set b=2` -> {"a": "1", "b": "2"}; a malformed item is a diagnostic, not a crash."""
    out: dict[str, str] = {}
    bad = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            bad.append(Diagnostic("E0110", f"malformed `--set {item}`", expected="NAME=VALUE", found=f"`{item}`",
                                  hint="for example `--set gf_dim=32`"))
            continue
        out[name.strip()] = value.strip()
    if bad:
        raise DiagnosticError(bad)
    return out


def load_plugins(modules: list[str] | None) -> None:
    """Import user modules that call `pbtnas.layers.register_op`: the one explicit way to add code to a space."""
    for name in modules or []:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise DiagnosticError([Diagnostic("E0003", f"cannot import plugin `{name}`: {err}",
                                              hint="the module must be importable (on PYTHONPATH)")]) from None


def load_space(path: str | Path, sets: list[str] | dict[str, str] | None = None,
               plugins: list[str] | None = None) -> CompiledSpace:
    """Import the plugins, then compile; `sets` are `NAME=VALUE` strings (as on the command line) or a dict."""
    load_plugins(plugins)
    overrides = dict(sets) if isinstance(sets, dict) else parse_sets(sets)
    return compile_space(path, overrides)


def architectures_entry(space: CompiledSpace) -> dict[str, str | None]:
    count = space.architectures()
    return {"architectures": None if count.value is None else str(count.value),
            "architectures_note": count.reason}


def write_artifact(space: CompiledSpace, target: str | Path) -> Path:
    """Write the compiled artifact atomically (a temporary file, then a rename)."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        # the distinct count is derived data: it rides in the written artifact, outside the schema hash
        tmp.write_text(json.dumps({**space.artifact, **architectures_entry(space)}, separators=(",", ":")))
        tmp.replace(target)
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise ArtifactError(f"cannot write {str(target)!r}: {err}") from None
    return target


def default_artifact_path(space_file: str | Path) -> Path:
    return Path("build") / f"{Path(space_file).stem}.json"


def parameters_entry(space: CompiledSpace) -> dict:
    r = space.parameter_range()
    return {"parameters": {"min": r.low, "max": r.high, "exact": r.exact, "uncounted_ops": list(r.uncounted_ops)}}


def compile_summary(space: CompiledSpace, artifact: str | Path) -> dict:
    """`pbtnas compile --format json`: the space's identity, its sizes and its warnings."""
    return {"space": space.name, "schema_hash": space.schema_hash, "genes": len(space.genes),
            "size": str(space.size), **architectures_entry(space), **parameters_entry(space),
            "artifact": str(artifact),
            "diagnostics": json.loads(render_json(space.warnings, space.source))["diagnostics"]}


def check_summary(space: CompiledSpace, path: str | Path) -> str:
    return (f"ok: {path}: {len(space.genes)} genes, size {space.size_text()}, "
            f"distinct architectures {space.architectures().text()}")


def linked_groups(space: CompiledSpace) -> list[list[int]]:
    """The groups of genes copied together, each sorted; `gene.linked` already lists a gene's whole group."""
    groups = {tuple(sorted({g.index, *g.linked})) for g in space.genes if g.linked}
    return [list(group) for group in sorted(groups)]


def sample_genome(space: CompiledSpace, seed: int = 0) -> dict:
    """A uniformly random genome, as the JSON a person reads: option names beside the integers."""
    import numpy as np  # lazy: compiling and checking do not need it

    return space.to_json_genome(space.random_genome(np.random.default_rng(seed)))


def read_genome(space: CompiledSpace, path: str | Path) -> Genome:
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise GenomeError(f"no such genome file: {path}") from None
    except OSError as err:  # a directory, permissions
        raise GenomeError(f"cannot read genome file {path}: {err.strerror or err}") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise GenomeError(f"{path} is not JSON: {err}") from None
    if not isinstance(data, dict):
        raise GenomeError(f"{path} is not a genome (expected a JSON object with \"values\")")
    return space.genome_from_json(data)


@dataclass(frozen=True)
class GeneRow:
    index: int
    name: str
    choice: str
    interface: str
    active: bool
    params: int | None  # None: the gene owns no weights (or is inactive)


@dataclass(frozen=True)
class GenomeReport:
    """`pbtnas show`: per gene its choice and parameters, per network (used, built) parameter counts."""

    genes: list[GeneRow]
    networks: dict[str, tuple[int, int]]
    parameters: GenomeParameters  # exact, from the compiler: every built module
    flops: GenomeFlops | None  # None: an input of free size (FlopsUnavailable says why)
    flops_note: str = ""

    @property
    def inactive(self) -> int:
        return sum(not g.active for g in self.genes)


def describe_genome(space: CompiledSpace, genome: Genome) -> GenomeReport:
    """Build the genome's network (torch loads here) and count what each gene owns among the active layers."""
    from pbtnas.compiler.activity import active_keys
    from pbtnas.compiler.builder import count_parameters

    model = space.build(genome, seed=0)
    activity = space.activity(genome)
    state = {k: v.numel() for k, v in model.named_parameters()}
    active = set(active_keys(activity, state))
    rows = []
    for g, v in zip(space.genes, genome.values):
        if g.index not in activity.genes:  # changing it changes nothing this genome's outputs depend on
            rows.append(GeneRow(g.index, g.name, g.options[v], g.shapes, False, None))
            continue
        n = sum(state[k] for k in space.owned_keys(g.index, state) if k in active)
        rows.append(GeneRow(g.index, g.name, g.options[v], g.shapes, True, n if g.owns_weights else None))
    networks = {}
    for net in space.networks:
        used = sum(n for k, n in state.items() if k in active and k.startswith(net + "."))
        networks[net] = (used, count_parameters(getattr(model, net)))
    from pbtnas.compiler.flops import FlopsUnavailable, genome_flops

    try:
        flops, note = genome_flops(space, genome), ""
    except FlopsUnavailable as err:
        flops, note = None, str(err)
    return GenomeReport(rows, networks, space.parameters(genome), flops, note)


# The language's own combinators, listed with the ops (they are not in the op table: they take layers, not shapes)
COMBINATORS = (("none", "no tensor: the edge is left out of its node's sum"),
               ("identity", "the input unchanged"),
               ("residual(layer)", "x + layer(x)"))


def op_rows(plugins: list[str] | None = None) -> list[tuple[str, str]]:
    """`pbtnas ops`: (signature, description) of every op a .nas file can name, plugins' ops included."""
    load_plugins(plugins)
    rows = [(signature(spec), spec.doc) for spec in map(get_op, op_names()) if spec is not None]
    return rows + list(COMBINATORS)
