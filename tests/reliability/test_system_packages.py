"""scripts/system-packages.sh, the Makefile's set-up step, with fake id / apt-get / ldconfig / python on PATH:
installs only what is missing, only as root with apt-get, and never fails the build."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-packages.sh"

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def run_setup(tmp_path: Path, *, uid: int, libraries: str, venv_ok: bool, apt_rc: int = 0,
              apt: bool = True, commands: tuple[str, ...] = ("dot", "chromium", "nvim"),
              ) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    work = Path(tempfile.mkdtemp(dir=tmp_path))  # each run its own fakes and call log
    bin_dir = work / "bin"
    bin_dir.mkdir()
    calls = work / "apt-calls"
    fake(bin_dir, "id", f"echo {uid}")
    fake(bin_dir, "ldconfig", f"printf '%s\\n' {libraries!r}")
    fake(bin_dir, "python3.11", "exit 0" if venv_ok else "exit 1")
    for command in commands:  # the programs whose package is there (Graphviz's dot, the browser, Neovim)
        fake(bin_dir, command, "exit 0")
    if apt:
        fake(bin_dir, "apt-get", f'echo "$*" >> {calls}; exit {apt_rc}')
    # PATH: the fakes, then only what the script itself needs from the system (no real apt-get)
    system = work / "system"
    system.mkdir()
    for tool in ("basename", "sh"):
        found = shutil.which(tool)
        assert found is not None
        (system / tool).symlink_to(found)
    env = {"PATH": f"{bin_dir}{os.pathsep}{system}", "PYTHON": str(bin_dir / "python3.11")}
    out = subprocess.run([str(system / "sh"), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return out, calls.read_text().splitlines() if calls.exists() else []


def test_nothing_to_do_calls_no_apt(tmp_path: Path) -> None:
    out, calls = run_setup(tmp_path, uid=0, libraries="libEGL_nvidia.so.0 (libc6,x86-64) => /x", venv_ok=True)
    assert out.returncode == 0 and calls == [] and out.stderr == ""
    out, calls = run_setup(tmp_path, uid=0, libraries="libOSMesa.so.8 (libc6,x86-64) => /x", venv_ok=True)
    assert out.returncode == 0 and calls == []


def test_as_root_only_the_missing_packages_are_installed(tmp_path: Path) -> None:
    out, calls = run_setup(tmp_path, uid=0, libraries="libc.so.6 (libc6,x86-64) => /x", venv_ok=True)
    assert out.returncode == 0
    assert calls[0].startswith("update") and [c for c in calls if c.startswith("install")] == [
        "install -y -qq --no-install-recommends libosmesa6"
    ]
    out, calls = run_setup(tmp_path, uid=0, libraries="libOSMesa.so.8 (libc6,x86-64) => /x", venv_ok=False)
    assert [c for c in calls if c.startswith("install")] == ["install -y -qq --no-install-recommends python3.11-venv"]


def test_without_root_it_says_what_it_skipped_and_succeeds(tmp_path: Path) -> None:
    out, calls = run_setup(tmp_path, uid=1000, libraries="", venv_ok=False)
    assert out.returncode == 0 and calls == []
    assert "skipped python3.11-venv libosmesa6" in out.stderr and "apt-get install -y" in out.stderr


def test_without_apt_get_it_succeeds(tmp_path: Path) -> None:
    out, calls = run_setup(tmp_path, uid=0, libraries="", venv_ok=True, apt=False)
    assert out.returncode == 0 and "skipped libosmesa6" in out.stderr


def test_a_failing_apt_get_does_not_fail_the_build(tmp_path: Path) -> None:
    out, calls = run_setup(tmp_path, uid=0, libraries="", venv_ok=False, apt_rc=100)
    assert out.returncode == 0 and len([c for c in calls if c.startswith("install")]) == 2  # one failure, one more try
    assert "could not install python3.11-venv" in out.stderr and "could not install libosmesa6" in out.stderr


def test_a_missing_dot_or_browser_installs_its_package(tmp_path: Path) -> None:
    out, calls = run_setup(tmp_path, uid=0, libraries="libOSMesa.so.8 (libc6,x86-64) => /x", venv_ok=True,
                           commands=("chromium", "nvim"))
    assert out.returncode == 0
    assert [c for c in calls if c.startswith("install")] == ["install -y -qq --no-install-recommends graphviz"]
    out, calls = run_setup(tmp_path, uid=0, libraries="libOSMesa.so.8 (libc6,x86-64) => /x", venv_ok=True,
                           commands=())
    assert [c for c in calls if c.startswith("install")] == [
        "install -y -qq --no-install-recommends graphviz", "install -y -qq --no-install-recommends chromium",
        "install -y -qq --no-install-recommends neovim"]
