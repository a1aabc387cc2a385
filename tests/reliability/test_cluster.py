"""Ray on loopback, a real two-node Ray cluster, and a node lost mid-step.

Every Ray started here runs in its own processes with its own temp dir; each test stops exactly the processes it
started (found by pid, never by name), also when it fails, so the session's Ray and other users' Rays live on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from listening import descendants, listeners_of

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ENGINE_TESTS = HERE.parent / "engine"


def _env() -> dict[str, str]:
    paths = [str(ROOT), str(ENGINE_TESTS), str(HERE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a new local Ray, not the session's
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


# 1. loopback ----------------------------------------------------------------------------------------------------


def test_listener_scan_sees_wildcard_and_loopback_sockets() -> None:
    """The scan the loopback test relies on tells a wildcard bind from a loopback one (IPv4 and IPv6)."""
    socks = []
    try:
        for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                             (socket.AF_INET6, "::")):
            s = socket.socket(family, socket.SOCK_STREAM)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, 0))
            s.listen()
            socks.append((host, s))
        found = {(x.address, x.port): x.loopback for x in listeners_of({os.getpid()})}
        for host, s in socks:
            assert found[(host, s.getsockname()[1])] == (host in ("127.0.0.1", "::1"))
    finally:
        for _, s in socks:
            s.close()


def test_local_ray_of_a_search_listens_on_loopback_only(tmp_path: Path) -> None:
    """`pbtnas search` without --address: GCS, raylet (node manager and object manager), the runtime-env agent,
    every worker and the driver's own gRPC server listen on 127.0.0.1 and nowhere else."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "loopback_driver.py"), str(tmp_path / "run"), "loopback"],
        env=_env(), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    listeners = result["listeners"]
    names = {x["name"] for x in listeners}
    # the sample really saw Ray's servers and the search's workers (not an empty or foreign process tree)
    assert {"gcs_server", "raylet"} <= names and sum(x["name"].startswith("ray::MemberRunn") for x in listeners) == 2
    assert sum(x["name"] == "raylet" for x in listeners) == 2  # node manager and object manager
    exposed = [x for x in listeners if not x["loopback"]]
    assert not exposed, f"listening beyond loopback: {exposed}"
    assert result["node_ip"] == "127.0.0.1"
    assert (tmp_path / "run" / "progress.json").exists() and result["best"] > 0
