"""Every `pbtnas` command, in one place: one module per command group, each with a `register(app)`.

    spaces.py   compile, check, sample (a random genome), show, ops   (pbtnas.compiler.commands)
    search.py   search, soup                                          (pbtnas.engine.commands)
    runs.py     evaluate, images (a GAN run's samples)                (pbtnas.tasks.commands)
    report.py   report, experiment                                    (pbtnas.report)

A command module imports only typer at its top and the layer it drives inside each command, so `pbtnas check` and
`pbtnas --help` never load torch or Ray. The layers offer plain functions (no typer); these modules parse options,
call them and print. To add a command group, write its module and add it to `GROUPS` in `pbtnas/cli/main.py`.
"""

from pbtnas.cli.main import DEBUG_FLAG, app, main

__all__ = ["DEBUG_FLAG", "app", "main"]
