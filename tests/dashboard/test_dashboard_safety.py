"""Read-only, only files inside the folder, loopback by default, run contents treated as data."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pbtnas.dashboard.server import Dashboard, is_loopback, make_server
from tests_dashboard_support import serve

pytestmark = pytest.mark.slow


def request(base: str, path: str, method: str = "GET", host: str | None = None) -> tuple[int, bytes]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.putrequest(method, path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.read()


TRAVERSALS = [
    "/files/../secret.txt", "/files/..%2fsecret.txt", "/files/%2e%2e/secret.txt", "/files/%2e%2e%2fsecret.txt",
    "/files/digits-pbt/..%2f..%2fsecret.txt", "/files//etc/passwd", "/files/%2fetc%2fpasswd",
    "/files/digits-pbt/%2e%2e/%2e%2e/secret.txt", "/files/..%5csecret.txt", "/static/..%2f__init__.py",
    "/static/../server.py", "/api/run?run=..", "/api/run?run=%2Fetc", "/api/run?run=digits-pbt%2F..%2F..",
    "/files/digits-pbt/config.json", "/files/digits-pbt/progress.json", "/files/escape/secret.png",
    "/files/digits-pbt%00.png",
]


def test_nothing_outside_the_folder_is_served(served: str, runs_folder: Path) -> None:
    (runs_folder.parent / "secret.png").write_bytes(b"\x89PNG outside")
    grid = next((runs_folder / "digits-pbt" / "workdirs" / "generated").glob("member_*/epoch_*.png"))
    os.symlink(runs_folder.parent, runs_folder / "escape")
    os.symlink(runs_folder.parent / "secret.png", grid.parent / "outside.png")
    try:
        link = "/files/" + (grid.parent / "outside.png").relative_to(runs_folder).as_posix()
        for path in [*TRAVERSALS, link]:
            status, body = request(served, path)
            assert status == 404, (path, status)
            assert b"outside" not in body and b"root:" not in body
    finally:
        (runs_folder / "escape").unlink()
        (grid.parent / "outside.png").unlink()
    status, body = request(served, "/files/" + grid.relative_to(runs_folder).as_posix())
    assert status == 200 and body.startswith(b"\x89PNG")


def test_read_only(served: str) -> None:
    for method in ("POST", "PUT", "DELETE"):
        assert request(served, "/api/runs", method)[0] == 405


def test_answers_only_to_localhost_when_bound_to_loopback(served: str) -> None:
    assert request(served, "/api/runs", host="evil.example:80")[0] == 403  # DNS rebinding
    assert request(served, "/api/runs", host="localhost:1234")[0] == 200


def test_listens_on_loopback_by_default(runs_folder: Path) -> None:
    server = make_server(Dashboard(runs_folder), port=0)
    try:
        assert server.socket.family == socket.AF_INET
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_hostile_names_travel_as_data(served: str) -> None:
    status, body = request(served, "/api/runs")
    runs = json.loads(body)["runs"]
    assert {r["run"] for r in runs} == {"digits-pbt", '<img src=x onerror="window.__pwned=1">'}
    status, _ = request(served, "/")
    assert status == 200


def test_every_response_forbids_inline_script(served: str) -> None:
    url = urlsplit(served)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", "/run?run=x")
    response = conn.getresponse()
    response.read()
    csp = response.getheader("Content-Security-Policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_a_damaged_run_is_a_message_not_a_crash(tmp_path: Path, runs_folder: Path) -> None:
    run = tmp_path / "damaged"
    shutil.copytree(runs_folder / "digits-pbt", run)
    snap = sorted((run / "population").glob("epoch_*.json"))[-1]
    data = json.loads(snap.read_text())
    data["evaluated"][0]["fitness"] = "not a number"
    snap.write_text(json.dumps(data))
    for base in serve(tmp_path):
        status, body = request(base, "/api/run?run=damaged")
        assert status == 409 and b"not a readable pbtnas run" in body
        rows = json.loads(request(base, "/api/runs")[1])["runs"]
        assert rows[0]["run"] == "damaged" and "error" in rows[0]


def test_a_dropped_connection_is_not_reported_as_an_error(runs_folder: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A reloaded page drops its requests in flight: no traceback in the terminal; a real error still has one."""
    server = make_server(Dashboard(runs_folder), port=0)
    try:
        for dropped in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "Connection reset by peer")):
            try:
                raise dropped
            except ConnectionError:
                server.handle_error(None, ("127.0.0.1", 40000))
        assert capsys.readouterr().err == ""
        try:
            raise KeyError("a bug")
        except KeyError:
            server.handle_error(None, ("127.0.0.1", 40000))
        assert "KeyError" in capsys.readouterr().err
    finally:
        server.server_close()
