"""`pbtnas fmt` and `pbtnas lsp`: the formatter (pbtnas.dsl.format) and the language server (pbtnas.lsp) for
editors and CI. Neither loads torch or Ray."""

from __future__ import annotations

from pathlib import Path

import typer


def fmt_command(
    files: list[Path] = typer.Argument(..., help=".nas files, or folders of them"),
    check: bool = typer.Option(False, "--check", help="write nothing; exit 1 when a file would change (for CI)"),
    diff: bool = typer.Option(False, "--diff", help="write nothing; print the change as a unified diff"),
) -> None:
    """Rewrite .nas files in the canonical layout (docs/format.md); comments and meaning are kept.

    Exit codes: 0 formatted (or nothing to do), 1 with --check when a file would change, 2 when a file could not be
    read or does not parse (its diagnostic is printed; the other files are still formatted)."""
    from pbtnas.dsl.format import run_fmt

    # run_fmt's own exit code: a DiagnosticError's 1 would read as "would change" here
    raise typer.Exit(run_fmt(files, check=check, diff=diff))


def lsp_command() -> None:
    """The .nas language server over stdio, for editors (docs/lsp.md, docs/editors.md)."""
    from pbtnas.lsp import serve_stdio

    serve_stdio()


def register(app: typer.Typer) -> None:
    app.command("fmt")(fmt_command)
    app.command("lsp")(lsp_command)
