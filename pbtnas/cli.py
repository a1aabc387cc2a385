"""The pbtnas command-line interface."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Neural architecture search with PBT-NAS.")

# --- compiler commands: compile, check, sample, show, ops (pbtnas/compiler/commands.py) ---
from pbtnas.compiler.commands import register as _register_compiler_commands  # noqa: E402

_register_compiler_commands(app)
# --- end of compiler commands ---

# --- engine commands: search, soup (owned by pbtnas/engine; implementations in pbtnas/engine/cli_commands.py) ---
from pbtnas.engine.cli_commands import register as _register_engine_commands  # noqa: E402

_register_engine_commands(app)
# --- end of engine commands ---

# --- report commands: report, experiment (owned by pbtnas/report; implementations in pbtnas/report/commands.py) ---
from pbtnas.report.commands import register as _register_report_commands  # noqa: E402

_register_report_commands(app)
# --- end of report commands ---


def main() -> None:
    app()


if __name__ == "__main__":
    main()
