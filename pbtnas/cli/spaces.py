"""`pbtnas compile | check | sample | show | ops`: the commands on a space (pbtnas.compiler.commands computes).

Torch-free except `show`, which builds the genome's network to count its parameters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from pbtnas.cli.output import fail, reported

if TYPE_CHECKING:
    from pbtnas.compiler.space import CompiledSpace

SetOption = typer.Option(None, "--set", help="Override a constant: NAME=VALUE (repeatable).")
PluginOption = typer.Option(None, "--plugin", help="Import a Python module that registers extra ops (repeatable).")
FormatOption = typer.Option("text", "--format", help="text or json")


def _warn(space: CompiledSpace) -> None:
    from pbtnas.dsl.diagnostics import render_text

    if space.warnings:
        print(render_text(space.warnings, space.source, color=sys.stderr.isatty()), file=sys.stderr)


def compile_command(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    sets: Optional[list[str]] = SetOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the compiled artifact "
                                                                  "(default: build/<space>.json)."),
    fmt: str = typer.Option("text", "--format", help="text or json (the summary and diagnostics)"),
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """Check a space, print its genome layout and exact size, and write the compiled artifact."""
    from pbtnas.compiler import commands

    with reported(fmt):
        space = commands.load_space(space_file, sets, plugins)
        target = commands.write_artifact(space, out or commands.default_artifact_path(space_file))
    if fmt == "json":
        print(json.dumps(commands.compile_summary(space, target)))
        return
    _warn(space)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"space `{space.name}`  (schema {space.schema_hash})", title_justify="left")
    for col in ("#", "gene", "options", "weights", "interface / owned prefix"):
        table.add_column(col, overflow="fold")
    for g in space.genes:
        opts = ", ".join(g.options)
        if len(opts) > 60:
            opts = opts[:57] + "..."
        where = g.shapes or ", ".join(g.prefixes) or ""
        if g.kind == "param" and g.prefixes:
            where = "shapes " + ", ".join(p.rstrip(".") for p in g.prefixes)
        table.add_row(str(g.index), g.name, f"{len(g.options)}: {opts}", "yes" if g.owns_weights else "-", where)
    console = Console()
    console.print(table)
    n_weighted = sum(g.owns_weights for g in space.genes)
    console.print(f"genes: {len(space.genes)} ({n_weighted} own weights)   networks: {', '.join(space.networks)}")
    console.print(f"size: {space.size_text()} genomes")
    console.print(f"distinct architectures: {space.architectures().text()}")
    console.print(f"parameters: {space.parameter_range().text()}")
    for group in commands.linked_groups(space):
        console.print("linked (their weights cannot be separated; mixing copies them together): "
                      + ", ".join(space.genes[i].name for i in group))
    console.print(f"artifact: {target}")


def check_command(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    sets: Optional[list[str]] = SetOption,
    fmt: str = FormatOption,
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """Diagnostics only: exit 0 when the space is valid, 1 on any error."""
    from pbtnas.compiler import commands

    with reported(fmt):
        space = commands.load_space(space_file, sets, plugins)
    if fmt == "json":
        from pbtnas.dsl.diagnostics import render_json

        print(render_json(space.warnings, space.source))
        return
    _warn(space)
    print(commands.check_summary(space, space_file))


RUN_SPELLING_NOTICE = ("note: `pbtnas sample RUN` (images of a GAN run) is now `pbtnas images RUN`; "
                       "`pbtnas sample` draws a genome of a space")


def sample_command(
    space_file: Path = typer.Argument(..., help="The .nas file."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    sets: Optional[list[str]] = SetOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the genome JSON here instead of stdout."),
    plugins: Optional[list[str]] = PluginOption,
    # the old spelling of `pbtnas images RUN`, kept working (with a notice) for scripts that use it
    grid: str = typer.Option("8x8", "--grid", hidden=True),
    which: str = typer.Option("best", "--which", hidden=True),
) -> None:
    """A uniformly random genome of a space, as JSON with option names beside the integers."""
    if space_file.is_dir():
        from pbtnas.cli.runs import write_images

        print(RUN_SPELLING_NOTICE, file=sys.stderr)
        write_images(space_file, out or Path("samples.png"), grid, seed, which)
        return
    from pbtnas.compiler import commands

    with reported():
        space = commands.load_space(space_file, sets, plugins)
    text = json.dumps(commands.sample_genome(space, seed), indent=2)
    if not out:
        print(text)
        return
    try:
        out.write_text(text + "\n")
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        fail(f"cannot write {str(out)!r}: {err}", 1)


def show_command(
    target: Path = typer.Argument(..., help="The .nas file, or a run directory."),
    genome_file: Optional[Path] = typer.Argument(None, help="A genome JSON (from `pbtnas sample` or a run "
                                                            "directory); not with a run directory."),
    member: Optional[int] = typer.Option(None, "--member", help="RUN: the member with this uid (default: best)."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="Draw the network: FILE.svg, .png, .pdf (Graphviz's "
                                                               "dot) or FILE.dot (its source)."),
    sets: Optional[list[str]] = SetOption,
    plugins: Optional[list[str]] = PluginOption,
) -> None:
    """The decoded network of a genome: per gene the option, its interface, its parameters and multiply-adds."""
    from pbtnas.compiler import commands

    donor: tuple[int, ...] = ()
    title = ""
    with reported():
        if target.is_dir():
            if genome_file is not None:
                fail("give a run directory alone (with --member UID), or a .nas file and a genome file", 2)
            from pbtnas.export.members import run_genome

            commands.load_plugins(plugins)
            found = run_genome(target, member)
            space, genome, donor, title = found.space, found.genome, found.donor_genes, found.title
        else:
            if genome_file is None or member is not None:
                fail("a .nas file needs a genome file (--member UID is for a run directory)", 2)
            space = commands.load_space(target, sets, plugins)
            genome = commands.read_genome(space, genome_file)
    report = commands.describe_genome(space, genome)
    from rich.console import Console
    from rich.table import Table

    from pbtnas.compiler.parameters import format_count

    table = Table(title=title or f"{space.name} genome {list(genome.values)}", title_justify="left")
    for col in ("#", "gene", "choice", "interface", "params", "MACs"):
        table.add_column(col, overflow="fold")
    gene_flops = report.flops.genes if report.flops else {}
    for row in report.genes:
        macs = format_count(gene_flops[row.index]) if row.index in gene_flops else "-"
        name = row.name + (" (donor)" if row.index in donor else "")
        if not row.active:
            table.add_row(str(row.index), name, f"{row.choice} (inactive)", row.interface, "-", "-")
        else:
            params = "-" if row.params is None else format_count(row.params)
            table.add_row(str(row.index), name, row.choice, row.interface, params, macs)
    console = Console()
    console.print(table)
    if report.inactive:
        console.print(f"inactive genes: {report.inactive} of {len(report.genes)} (their layers are built but no "
                      "output depends on them)")
    for net, (used, built) in report.networks.items():
        extra = f" ({built:,} built, {built - used:,} in inactive layers)" if built != used else ""
        console.print(f"{net}: {used:,} parameters{extra}")
    console.print(f"total: {report.parameters.total:,} parameters (exact, every built layer)")
    if report.flops is None:
        console.print(f"FLOPs: not counted: {report.flops_note}")
    else:
        per_net = ", ".join(f"{net} {format_count(n)}" for net, n in report.flops.networks.items())
        console.print(f"FLOPs: {report.flops.total:,} multiply-adds per sample ({per_net})")
    if graph is not None:
        from pbtnas.export.diagram import build_diagram, write_diagram

        with reported():
            path = write_diagram(build_diagram(space, genome, donor_genes=donor), graph,
                                 title or f"{space.name} {list(genome.values)}")
        console.print(f"diagram: {path}")


def ops_command(plugins: Optional[list[str]] = PluginOption) -> None:
    """The op library: every layer a .nas file can name, with its arguments."""
    from pbtnas.compiler import commands

    with reported():
        rows = commands.op_rows(plugins)
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="ops", title_justify="left")
    table.add_column("signature")
    table.add_column("description")
    for sig, doc in rows:
        table.add_row(escape(sig), escape(doc))  # docs hold `[start, end)`, not markup
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_command)
    app.command("check")(check_command)
    app.command("sample")(sample_command)
    app.command("show")(show_command)
    app.command("ops")(ops_command)
