"""A real multi-node Ray cluster on this machine's loopback, for tests: a head and worker nodes, each started with
Ray's own `ray start` (through ray_node.py, which keeps 127.0.0.1 as the node address) in its own temp dir, with
its own resources. Token authentication is on, with a token of the cluster's own (never ~/.ray/auth_token).

A node is its processes: the ones whose command line names the node's temp dir, and their descendants (workers).
`kill_node` and `stop` signal exactly those pids, so the session's Ray and other users' Rays are never touched
(`ray stop` would stop every Ray of the machine).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from listening import descendants

HERE = Path(__file__).parent

__all__ = ["LocalCluster"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class LocalCluster:
    def __init__(self, env: dict[str, str]) -> None:
        # short: Ray's unix socket paths under the temp dir must stay below ~107 characters
        self.base = Path(tempfile.mkdtemp(prefix="pbtc-"))
        self.env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[str] = []

    def _start(self, name: str, args: list[str]) -> None:
        temp = self.base / name
        cmd = [sys.executable, str(HERE / "ray_node.py"), *args, "--node-ip-address", "127.0.0.1",
               "--temp-dir", str(temp), "--object-store-memory", str(100 * 1024 * 1024), "--disable-usage-stats",
               "--dashboard-agent-listen-port", str(free_port()), "--metrics-export-port", str(free_port())]
        self.nodes.append(name)
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start ({name}) failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")

    def start_head(self, num_cpus: int) -> None:
        self._start("head", ["--head", "--port", str(self.port), "--num-cpus", str(num_cpus),
                             "--include-dashboard", "false", "--ray-client-server-port", str(free_port())])

    def add_node(self, name: str, num_cpus: int) -> None:
        self._start(name, ["--address", self.address, "--num-cpus", str(num_cpus)])

    def pids(self, name: str) -> set[int]:
        marker = str(self.base / name).encode()
        roots = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if marker + b"/" in cmdline or marker + b"\0" in cmdline:  # not a prefix of another node's dir
                    roots.add(int(entry.name))
        found: set[int] = set()
        for root in roots:
            found |= descendants(root)
        return found

    def kill_node(self, name: str) -> set[int]:
        """SIGKILL the node's raylet, workers and agents, as if its machine had gone."""
        pids = self.pids(name)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        """Every node at once: SIGTERM, then SIGKILL whatever is left after a short grace period (the processes
        hold nothing worth saving; gcs_server was seen ignoring SIGTERM for over 10 s)."""
        pids = set().union(*(self.pids(name) for name in self.nodes)) if self.nodes else set()
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_alive(p) for p in pids):
                time.sleep(0.1)
        shutil.rmtree(self.base, ignore_errors=True)
