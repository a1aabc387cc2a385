"""`pbtnas dashboard`: its messages, the warning of --host, serving a folder, and no torch or Ray in the process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from pbtnas.errors import EXIT_USER

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pbtnas", "dashboard", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "pbtnas", "dashboard", str(tmp_path / "nope")], env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == EXIT_USER
    assert out.stderr.startswith("error: ") and "no such folder" in out.stderr and "Traceback" not in out.stderr


def test_serves_on_loopback_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = start(str(tmp_path), "--port", "0")
    try:
        line = proc.stdout.readline()
        assert "on http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split("on ", 1)[1].split()[0]
        assert json.loads(urllib.request.urlopen(url + "api/runs", timeout=10).read())["runs"] == []
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "warning" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_another_host_is_a_choice_with_a_warning(tmp_path: Path) -> None:
    proc = start(str(tmp_path), "--port", "0", "--host", "0.0.0.0")
    try:
        warning = proc.stderr.readline()
        assert warning.startswith("warning: listening on 0.0.0.0") and "SSH port forwarding" in warning
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_the_dashboard_needs_neither_torch_nor_ray() -> None:
    code = ("import sys; from pbtnas.cli import main; from pbtnas.dashboard import server, views; "
            "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
