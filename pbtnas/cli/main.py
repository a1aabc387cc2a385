"""The typer application, its command groups and the console script's error handling (`pbtnas = pbtnas.cli:main`)."""

from __future__ import annotations

import sys
import traceback

import typer

from pbtnas.cli import editor, export, report, runs, search, spaces
from pbtnas.errors import EXIT_INTERNAL, UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Neural architecture search with PBT-NAS. "
                  "Add --debug to any command to see the traceback of an internal error.")

# One entry per command group, in the order `pbtnas --help` lists them.
GROUPS = (spaces, editor, search, runs, report, export)
for _group in GROUPS:
    _group.register(app)

DEBUG_FLAG = "--debug"


def main(argv: list[str] | None = None) -> None:
    """The console script. Exit codes: pbtnas.errors.EXIT_CODES (the README's table)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # `--debug` anywhere on the line: every command has it without repeating it in each signature
    debug = DEBUG_FLAG in args
    args = [a for a in args if a != DEBUG_FLAG]
    try:
        app(args=args, prog_name="pbtnas")
    except UserError as err:  # a documented user error that no command turned into its message itself
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except Exception as err:  # anything else is a bug in pbtnas, not the user's mistake
        if debug:
            traceback.print_exc()
        print(f"internal error (a bug in pbtnas, please report it): {type(err).__name__}: {err}\n"
              f"  run the command again with {DEBUG_FLAG} for the traceback", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)
