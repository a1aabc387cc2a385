"""The typer application, its command groups and the console script's error handling (`pbtnas = pbtnas.cli:main`)."""

from __future__ import annotations

import sys
import traceback

import typer
from typer.core import TyperGroup

from pbtnas.cli import dashboard, editor, export, report, runs, search, spaces
from pbtnas.errors import EXIT_INTERNAL, UserError

class _Root(TyperGroup):
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        # No path, name or number holds a NUL byte, and the OS refuses one deep inside a command (ValueError:
        # embedded null byte). A shell cannot pass one; a program calling main(argv) can.
        for arg in args:
            if "\x00" in arg:
                raise typer.BadParameter(f"an argument contains a NUL byte: {arg!r}", ctx=ctx)
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_Root, add_completion=False, no_args_is_help=True,
                  help="Neural architecture search with PBT-NAS. "
                  "Add --debug to any command to see the traceback of an internal error.")

# One entry per command group, in the order `pbtnas --help` lists them.
GROUPS = (spaces, editor, search, runs, report, export, dashboard)
for _group in GROUPS:
    _group.register(app)

DEBUG_FLAG = "--debug"


def main(argv: list[str] | None = None) -> None:
    """The console script. Exit codes: pbtnas.errors.EXIT_CODES (the README's table). Called with ``argv`` (tests,
    programs) it raises ``SystemExit`` like any typer app; called without, it is the process's entry point and ends
    the process as soon as the command is done (``_end_process``)."""
    try:
        _run(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as stop:
        if argv is None and (stop.code is None or isinstance(stop.code, int)):
            _end_process(stop.code or 0)
        raise
    if argv is None:
        _end_process(0)


def _run(args: list[str]) -> None:
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


def _end_process(code: int) -> None:
    """Shut Ray down, run the exit handlers (log handlers...), flush, and exit without the interpreter's teardown of
    every module: after a search that loaded torch and Ray it took 0.6 to 1.9 s of the command's wall time, for
    nothing the user sees. A thread that is not a daemon still running means work in flight: then exit normally."""
    import atexit
    import logging
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():  # here rather than in Ray's exit hook, which first sleeps 0.5 s
        ray.shutdown()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`pbtnas ... | head`): nothing more can reach it
            pass
    os._exit(code)
