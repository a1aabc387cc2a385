"""`pbtnas compile | check | sample | show | ops`: the compiler's commands.

User mistakes end as diagnostics on stderr with exit code 1, never as a Python traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pbtnas.compiler.activity import active_keys
from pbtnas.compiler.builder import count_parameters, format_count
from pbtnas.compiler.elaborate import signature
from pbtnas.compiler.space import CompiledSpace, GenomeError, compile_space
from pbtnas.dsl.diagnostics import Diagnostic, DiagnosticError, render_json, render_text
from pbtnas.layers.ops import get_op, op_names

SetOption = typer.Option(None, "--set", help="Override a constant: NAME=VALUE (repeatable).")
PluginOption = typer.Option(None, "--plugin", help="Import a Python module that registers extra ops (repeatable).")


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


def fail(err: DiagnosticError, fmt: str = "text") -> None:
    if fmt == "json":
        print(render_json(err.diagnostics, err.source))
    else:
        print(render_text(err.diagnostics, err.source, color=sys.stderr.isatty()), file=sys.stderr)
    raise typer.Exit(1)


def load_space(path: Path, sets: list[str] | None, plugins: list[str] | None, fmt: str = "text") -> CompiledSpace:
    try:
        load_plugins(plugins)
        return compile_space(path, parse_sets(sets))
    except DiagnosticError as err:
        fail(err, fmt)
        raise  # unreachable: fail() exits


def _warn(space: CompiledSpace) -> None:
    if space.warnings:
        print(render_text(space.warnings, space.source, color=sys.stderr.isatty()), file=sys.stderr)


def _gene_table(space: CompiledSpace, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("#", "gene", "options", "weights", "interface / owned prefix"):
        table.add_column(col, overflow="fold")
    for g in space.genes:
        opts = ", ".join(g.options)
        if len(opts) > 60:
            opts = opts[:57] + "..."
        owns = "yes" if g.owns_weights else "-"
        where = g.shapes or ", ".join(g.prefixes) or ""
        if g.kind == "param" and g.prefixes:
            where = "shapes " + ", ".join(p.rstrip(".") for p in g.prefixes)
        table.add_row(str(g.index), g.name, f"{len(g.options)}: {opts}", owns, where)
    return table


def compile_cmd(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    sets: Optional[list[str]] = SetOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the compiled artifact "
                                                                  "(default: build/<space>.json)."),
    fmt: str = typer.Option("text", "--format", help="text or json (the summary and diagnostics)"),
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """Check a space, print its genome layout and exact size, and write the compiled artifact."""
    space = load_space(space_file, sets, plugins, fmt)
    target = out or Path("build") / f"{space_file.stem}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        # the distinct count is derived data: it rides in the written artifact, outside the schema hash
        tmp.write_text(json.dumps({**space.artifact, **_architectures_entry(space)},
                                  separators=(",", ":")))
        tmp.replace(target)
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        print(f"error: cannot write {target!r}: {err}", file=sys.stderr)
        raise typer.Exit(1)
    if fmt == "json":
        print(json.dumps({"space": space.name, "schema_hash": space.schema_hash, "genes": len(space.genes),
                          "size": str(space.size), **_architectures_entry(space), "artifact": str(target),
                          "diagnostics": json.loads(render_json(space.warnings, space.source))["diagnostics"]}))
        return
    _warn(space)
    console = Console()
    console.print(_gene_table(space, f"space `{space.name}`  (schema {space.schema_hash})"))
    n_weighted = sum(g.owns_weights for g in space.genes)
    console.print(f"genes: {len(space.genes)} ({n_weighted} own weights)   networks: {', '.join(space.networks)}")
    console.print(f"size: {space.size_text()} genomes")
    console.print(f"distinct architectures: {space.architectures().text()}")
    for group in linked_groups(space):
        console.print("linked (their weights cannot be separated; mixing copies them together): "
                      + ", ".join(space.genes[i].name for i in group))
    console.print(f"artifact: {target}")


def _architectures_entry(space: CompiledSpace) -> dict:
    count = space.architectures()
    return {"architectures": None if count.value is None else str(count.value),
            "architectures_note": count.reason}


def linked_groups(space: CompiledSpace) -> list[list[int]]:
    """The groups of genes copied together, each sorted; `gene.linked` already lists a gene's whole group."""
    groups = {tuple(sorted({g.index, *g.linked})) for g in space.genes if g.linked}
    return [list(group) for group in sorted(groups)]


def check_cmd(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    sets: Optional[list[str]] = SetOption,
    fmt: str = typer.Option("text", "--format", help="text or json"),
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """Diagnostics only: exit 0 when the space is valid, 1 on any error."""
    space = load_space(space_file, sets, plugins, fmt)
    if fmt == "json":
        print(render_json(space.warnings, space.source))
        return
    _warn(space)
    print(f"ok: {space_file}: {len(space.genes)} genes, size {space.size_text()}, "
          f"distinct architectures {space.architectures().text()}")


def sample_cmd(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    sets: Optional[list[str]] = SetOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the genome JSON here instead of stdout."),
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """A uniformly random genome, as JSON with option names beside the integers."""
    space = load_space(space_file, sets, plugins)
    genome = space.random_genome(np.random.default_rng(seed))
    text = json.dumps(space.to_json_genome(genome), indent=2)
    if out:
        try:
            out.write_text(text + "\n")
        except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
            print(f"error: cannot write {str(out)!r}: {err}", file=sys.stderr)
            raise typer.Exit(1)
    else:
        print(text)


def read_genome(space: CompiledSpace, path: Path):
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


def show_cmd(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    genome_file: Path = typer.Argument(..., help="A genome JSON (from `pbtnas sample` or a run directory)."),
    sets: Optional[list[str]] = SetOption,
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """The decoded network of a genome: per gene the option, its interface and its parameter count."""
    space = load_space(space_file, sets, plugins)
    try:
        genome = read_genome(space, genome_file)
    except GenomeError as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(1)
    model = space.build(genome, seed=0)
    activity = space.activity(genome)
    state = {k: v.numel() for k, v in model.named_parameters()}
    active = set(active_keys(activity, state))
    table = Table(title=f"{space.name} genome {list(genome.values)}", title_justify="left")
    for col in ("#", "gene", "choice", "interface", "params"):
        table.add_column(col, overflow="fold")
    for g, v in zip(space.genes, genome.values):
        n = sum(state[k] for k in space.owned_keys(g.index, state) if k in active)
        if g.index not in activity.genes:  # changing it changes nothing this genome's outputs depend on
            table.add_row(str(g.index), g.name, f"{g.options[v]} (inactive)", g.shapes, "-")
            continue
        table.add_row(str(g.index), g.name, g.options[v], g.shapes, format_count(n) if g.owns_weights else "-")
    console = Console()
    console.print(table)
    inactive = len(space.genes) - len(activity.genes)
    if inactive:
        console.print(f"inactive genes: {inactive} of {len(space.genes)} (their layers are built but no output "
                      "depends on them)")
    for net in space.networks:
        built = count_parameters(getattr(model, net))
        used = sum(n for k, n in state.items() if k in active and k.startswith(net + "."))
        extra = f" ({built:,} built, {built - used:,} in inactive layers)" if built != used else ""
        console.print(f"{net}: {used:,} parameters{extra}")


def ops_cmd(plugins: Optional[list[str]] = PluginOption) -> None:
    """The op library: every layer a .nas file can name, with its arguments."""
    try:
        load_plugins(plugins)
    except DiagnosticError as err:
        fail(err)
    table = Table(title="ops", title_justify="left")
    table.add_column("signature")
    table.add_column("description")
    for name in op_names():
        spec = get_op(name)
        table.add_row(escape(signature(spec)), escape(spec.doc))  # docs hold `[start, end)`, not markup
    table.add_row("none", "no tensor: the edge is left out of its node's sum")
    table.add_row("identity", "the input unchanged")
    table.add_row("residual(layer)", "x + layer(x)")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """`sample` is registered by pbtnas/cli.py, which also takes run directories (GAN image grids)."""
    app.command("compile")(compile_cmd)
    app.command("check")(check_cmd)
    app.command("show")(show_cmd)
    app.command("ops")(ops_cmd)
