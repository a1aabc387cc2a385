"""`pbtnas dashboard [RUN | runs/]`: a live, read-only web page of run directories (pbtnas.dashboard)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pbtnas.cli.output import fail
from pbtnas.errors import EXIT_USER


def dashboard_command(
    folder: Path = typer.Argument(Path("runs"), help="a run directory, or a folder of runs (searched 4 levels deep)"),
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="TCP port (0: any free port)"),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="address to listen on; anything but loopback lets other machines read the runs"),
    stale_after: float = typer.Option(6.0, "--stale-after", min=0.0,
                                      help="hours without a write after which an unfinished run shows as killed"),
) -> None:
    """Serve a live web page of the runs under FOLDER: population, fitness, lineage, layer origins, samples."""
    if not folder.is_dir():
        fail(f"{folder}: no such folder (give a run directory or a folder of runs)", EXIT_USER)
    from pbtnas.dashboard.server import Dashboard, is_loopback, make_server

    if not is_loopback(host):
        print(f"warning: listening on {host}: anyone who can reach this machine on port {port} can read these runs "
              "(the dashboard has no login); prefer the default 127.0.0.1 with SSH port forwarding", file=sys.stderr)
    dashboard = Dashboard(folder, stale_after=stale_after * 3600.0)
    try:
        server = make_server(dashboard, host, port)
    except OSError as err:  # port in use, address not on this machine
        fail(f"cannot listen on {host}:{port}: {err.strerror or err}", EXIT_USER)
    dashboard.warm_up()
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    print(f"pbtnas dashboard of {folder} on http://{shown}:{server.server_address[1]}/  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard_command)
