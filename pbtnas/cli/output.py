"""How every command reports a user's mistake: one `error:` line (or the compiler's diagnostics) and an exit code.

Commands catch ``UserError`` themselves rather than leaving it to ``main``: typer's test runner and notebooks call
``app`` directly, and they must see the same message and exit code as the console script.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from pbtnas.dsl.diagnostics import DiagnosticError, render_json, render_text
from pbtnas.errors import Interrupted, UserError


def fail(message: str, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@contextmanager
def reported(fmt: str = "text") -> Iterator[None]:
    """Turn the layers' user errors into their message and exit code; diagnostics are rendered (JSON on stdout)."""
    try:
        yield
    except DiagnosticError as err:
        print_diagnostics(err, fmt)
        raise typer.Exit(err.exit_code) from None
    except (UserError, Interrupted) as err:
        fail(str(err), err.exit_code)


def print_diagnostics(err: DiagnosticError, fmt: str = "text") -> None:
    if fmt == "json":
        print(render_json(err.diagnostics, err.source))
    else:
        print(render_text(err.diagnostics, err.source, color=sys.stderr.isatty()), file=sys.stderr)
