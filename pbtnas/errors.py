"""User errors and exit codes: the one table every ``pbtnas`` command follows.

A mistake of the user's (a `.nas` file the compiler refuses, a bad option, a missing or malformed file) raises a
``UserError`` subclass and is printed as one message with no traceback. Any other exception is a bug in pbtnas:
the CLI says so, with its own exit code, and shows the traceback under ``--debug`` (a search also writes it to
``RUN/log.txt``). This module imports nothing of pbtnas, so every layer can raise these.
"""

from __future__ import annotations

import signal
from pathlib import Path

__all__ = [
    "EXIT_CODES",
    "EXIT_DIAGNOSTICS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_USER",
    "Interrupted",
    "Terminated",
    "UserError",
]

EXIT_DIAGNOSTICS = 1
EXIT_USER = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, the shell's convention for a signal
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143

# The README's table; tests/reliability/test_exit_codes.py checks that the README states it.
EXIT_CODES: dict[int, str] = {
    0: "success (`check`: no errors; warnings do not count)",
    EXIT_DIAGNOSTICS: "the compiler refused the input: diagnostics in a `.nas` file, a genome that does not fit its "
                      "space, a plugin that cannot be imported",
    EXIT_USER: "any other mistake of the user's: a bad option or config value, a missing or malformed file or run "
               "directory, a run that cannot go on (every member failed, the disk is full); also typer's usage "
               "errors (an unknown option)",
    EXIT_INTERNAL: "an internal error, a bug in pbtnas: the message says so; `--debug` shows the traceback",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGINT); a search keeps its last complete step",
    EXIT_TERMINATED: "terminated (SIGTERM: SLURM, Kubernetes, `kill`); a search keeps its last complete step",
}


class UserError(Exception):
    """A mistake of the user's, printed as is (no traceback) with ``exit_code``."""

    exit_code = EXIT_USER


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so every cleanup path that handles one handles both."""


class Interrupted(Exception):
    """A search stopped by a signal; its last complete step is saved in ``run_dir``."""

    def __init__(self, signum: int, run_dir: Path):
        self.signum = signum
        self.run_dir = run_dir
        self.exit_code = EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
        name = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
        super().__init__(
            f"{name}; the last complete step is saved: continue with `pbtnas search --resume {run_dir}`"
        )
