"""The dashboard's HTTP server: the standard library's ThreadingHTTPServer, read-only (GET and HEAD), serving the
static pages of this package, JSON views of the runs under one folder, and the images and videos inside that
folder; nothing outside it (``..``, encoded or not, absolute paths and symbolic links that lead out are refused)."""

from __future__ import annotations

import ipaddress
import json
import math
import mimetypes
import socket
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pbtnas.dashboard.diagram import DiagramUnavailable
from pbtnas.dashboard.reader import FileCache, RunReader, discover_runs, is_run_dir
from pbtnas.dashboard.views import (IMAGE_SUFFIXES, VIDEO_SUFFIXES, best_of, compare_view, population_view, run_row,
                                    run_view)
from pbtnas.report.load import RunError

__all__ = ["Dashboard", "is_loopback", "make_server"]

STATIC = Path(__file__).parent / "static"
PAGES = {"/": "index.html", "/run": "run.html", "/compare": "compare.html"}
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".md": "text/plain; charset=utf-8"}
# Scripts only from this server, no inline script, no plug-ins, no framing: a string in a run directory that
# reached the page as markup still could not run.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NotFound(Exception):
    """A path or run that this dashboard does not serve (outside the folder, not a run, no such file)."""


@dataclass
class Dashboard:
    """The runs under ``root`` and their readers (one per run, kept for the server's life: that is the cache)."""

    root: Path
    stale_after: float = 6 * 3600.0
    cache: FileCache = field(default_factory=FileCache)
    _readers: dict[str, RunReader] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _diagrams: dict[tuple[str, int], bytes | DiagramUnavailable] = field(default_factory=dict)
    _diagram_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()

    def name_of(self, run: Path) -> str:
        rel = run.relative_to(self.root).as_posix()
        return "." if rel in ("", ".") else rel

    def inside(self, rel: str) -> Path:
        """``root/rel`` when it names something inside the folder without leaving it on the way; else NotFound.
        ``rel`` is already percent-decoded: ``..%2f`` arrives here as ``../``."""
        if "\x00" in rel or "\\" in rel:
            raise NotFound(rel)
        parts = PurePosixPath(rel).parts
        if rel.startswith("/") or any(p in ("..", "") for p in parts):
            raise NotFound(rel)
        path = self.root.joinpath(*parts) if parts and parts != (".",) else self.root
        # resolve() follows every symbolic link: a link anywhere on the way that leads out ends up outside root
        if not path.resolve().is_relative_to(self.root) or path.resolve() != path:
            raise NotFound(rel)
        return path

    def reader(self, name: str) -> RunReader:
        path = self.inside(name)
        if not is_run_dir(path):
            raise NotFound(name)
        with self._lock:
            if name not in self._readers:
                self._readers[name] = RunReader(path, self.cache, self.stale_after)
            return self._readers[name]

    def runs(self) -> list[dict[str, Any]]:
        rows = []
        for path in discover_runs(self.root):
            name = self.name_of(path)
            reader = self.reader(name)
            try:
                data = reader.data()
                rows.append(run_row(name, data, reader.state(data.complete)))
            except (RunError, KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
                # started, nothing committed yet, or damaged: listed with the reason, the other runs still shown
                rows.append({"run": name, "state": reader.state(False).state, "error": str(err)})
        return rows

    def warm_up(self) -> threading.Thread:
        """Read every run once in the background, so the first page opened does not wait for the parsing of
        every population file (a run of 36 members and 300 steps holds about 30 MB of JSON) and its views."""
        def read_all() -> None:
            for row in self.runs():
                if "error" not in row:
                    run_view(row["run"], self.reader(row["run"]))  # and the views a run page draws

        thread = threading.Thread(target=read_all, name="dashboard-warm-up", daemon=True)
        thread.start()
        return thread

    def diagram(self, name: str) -> bytes:
        """The SVG of the best member of the run's latest population, drawn once per best member."""
        from pbtnas.dashboard.diagram import best_diagram

        reader = self.reader(name)
        run = reader.data()
        best = reader.derived("best", best_of)
        members = {int(m["uid"]): m for m in run.snapshots[-1]["members"]}
        if best["uid"] is None or int(best["uid"]) not in members:
            raise NotFound(name)
        key = (name, int(best["uid"]))
        with self._diagram_lock:  # one drawing at a time: the first imports torch and builds on the meta device
            if key not in self._diagrams:
                differs = {g["gene"] for g in best["genes"] if g["differs"]}
                try:
                    self._diagrams[key] = best_diagram(run, members[key[1]], differs)
                except DiagramUnavailable as err:
                    self._diagrams[key] = err
            drawn = self._diagrams[key]
        if isinstance(drawn, DiagramUnavailable):
            raise drawn
        return drawn

    def compare(self, names: list[str]) -> dict[str, Any]:
        return compare_view([(n, self.reader(n).data()) for n in names])

    def media(self, rel: str) -> Path:
        path = self.inside(rel)
        if path.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES or not path.is_file():
            raise NotFound(rel)
        return path


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False, default=_plain, separators=(",", ":")).encode()


def _plain(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON: {type(x).__name__}")


class Handler(BaseHTTPRequestHandler):
    dashboard: Dashboard  # set on the subclass make_server builds
    loopback_only: bool
    server_version = "pbtnas-dashboard"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass  # one line per poll every two seconds would drown the terminal

    def do_HEAD(self) -> None:  # noqa: N802 (the stdlib's name)
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _refuse(self, status: HTTPStatus, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8", head=False)

    def do_POST(self) -> None:  # noqa: N802
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "the dashboard is read-only")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _serve(self, head: bool) -> None:
        if self.loopback_only and not self._host_is_loopback():
            # DNS rebinding: a page on another site that points its own name at 127.0.0.1 sends its Host header
            return self._refuse(HTTPStatus.FORBIDDEN, "this dashboard answers only to localhost")
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        path = unquote(url.path)
        try:
            if path in PAGES:
                return self._static(PAGES[path], head)
            if path.startswith("/static/"):
                return self._static(path[len("/static/"):], head)
            if path.startswith("/files/"):
                return self._file(self.dashboard.media(path[len("/files/"):]), head)
            if path == "/api/runs":
                return self._json({"root": self.dashboard.root.name, "runs": self.dashboard.runs()}, head)
            if path == "/api/run":
                reader = self.dashboard.reader(_one(query, "run"))
                since = query.get("since", [None])[0]
                if since is not None and since == reader.version:
                    return self._json({"version": since, "unchanged": True}, head)
                return self._json(run_view(_one(query, "run"), reader), head)
            if path == "/api/population":
                epoch = query.get("epoch", [None])[0]
                return self._json(population_view(self.dashboard.reader(_one(query, "run")),
                                                  int(epoch) if epoch and epoch.lstrip("-").isdigit() else None), head)
            if path == "/api/diagram":
                try:
                    return self._send(HTTPStatus.OK, self.dashboard.diagram(_one(query, "run")), "image/svg+xml",
                                      head)
                except DiagramUnavailable as err:
                    return self._send(HTTPStatus.NOT_FOUND, _json_bytes({"error": str(err)}), "application/json",
                                      head)
            if path == "/api/compare":
                return self._json(self.dashboard.compare(query.get("run", [])), head)
        except NotFound:
            pass
        except RunError as err:
            return self._send(HTTPStatus.CONFLICT, _json_bytes({"error": str(err)}), "application/json", head)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:  # a file of the wrong shape
            message = f"not a readable pbtnas run ({type(err).__name__}: {err})"
            return self._send(HTTPStatus.CONFLICT, _json_bytes({"error": message}), "application/json", head)
        self._refuse(HTTPStatus.NOT_FOUND, "not found")

    def _host_is_loopback(self) -> bool:
        host = (self.headers.get("Host") or "").strip()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name.strip("[]")) or name in LOOPBACK_NAMES

    def _static(self, name: str, head: bool) -> None:
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            raise NotFound(name)
        self._send(HTTPStatus.OK, path.read_bytes(), STATIC_TYPES[path.suffix], head)

    def _file(self, path: Path, head: bool) -> None:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, path.read_bytes(), kind, head, cache=True)

    def _json(self, value: Any, head: bool) -> None:
        self._send(HTTPStatus.OK, _json_bytes(value), "application/json", head)

    def _send(self, status: HTTPStatus, body: bytes, kind: str, head: bool, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "max-age=60" if cache else "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _one(query: dict[str, list[str]], key: str) -> str:
    values = query.get(key)
    if not values:
        raise NotFound(key)
    return values[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a page's open connection never keeps the command from ending on Ctrl-C

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that reloads or leaves a page drops its requests in flight: nothing went wrong on this side,
        # and socketserver would print a traceback for each one.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0: any free port, see ``server.server_address``), not yet serving."""
    handler = type("DashboardHandler", (Handler,), {"dashboard": dashboard, "loopback_only": is_loopback(host)})
    server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6}) if ":" in host else _Server
    return server_class((host.strip("[]"), port), handler)
