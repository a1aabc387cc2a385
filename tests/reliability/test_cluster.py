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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from listening import listeners_of
from local_cluster import LocalCluster

from pbtnas.engine.raycluster import UnsafeOutputPath, address_is_loopback, write_worker_files
from pbtnas.engine.rundir import load_state

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
    assert {"gcs_server", "raylet"} <= names and sum(x["name"].startswith("ray::WireRunner") for x in listeners) == 2
    assert sum(x["name"] == "raylet" for x in listeners) == 2  # node manager and object manager
    exposed = [x for x in listeners if not x["loopback"]]
    assert not exposed, f"listening beyond loopback: {exposed}"
    assert result["node_ip"] == "127.0.0.1"
    assert (tmp_path / "run" / "progress.json").exists() and result["best"] > 0


def test_loopback_addresses_are_recognised() -> None:
    for address in ("127.0.0.1:6379", "localhost:6379", "[::1]:6379", "127.0.0.2:1"):
        assert address_is_loopback(address), address
    for address in ("auto", "10.0.0.1:6379", "head.example:6379", "[2001:db8::1]:6379"):
        assert not address_is_loopback(address), address


def test_worker_files_are_written_inside_the_run_only(tmp_path: Path) -> None:
    """A worker's per-step files are written by the driver under RUN/workdirs; a name that leaves it is refused."""
    folder = tmp_path / "run" / "workdirs"
    written = write_worker_files(folder, {"generated/member_0001/epoch_0002.png": b"png"})
    assert written == [folder / "generated" / "member_0001" / "epoch_0002.png"] and written[0].read_bytes() == b"png"
    for name in ("../escape.txt", "/tmp/escape.txt", "a/../../escape.txt", "", ".", "..\\escape.txt"):
        with pytest.raises(UnsafeOutputPath):
            write_worker_files(folder, {name: b"x"})
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["epoch_0002.png"]


# 2. and 3. a two-node cluster -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Head: 2 CPUs (one for its worker, one left for members rescheduled from a lost node); node2: 1 CPU."""
    c = LocalCluster(_env())
    try:
        c.start_head(num_cpus=2)
        c.add_node("node2", num_cpus=1)
        yield c
    finally:
        c.stop()
    assert not c.pids("head") and not c.pids("node2")


def _search(c: LocalCluster, run: Path, **kw: Any) -> tuple[dict[str, Any], subprocess.Popen[str]]:
    cfg = {"space": "double", "task": "cluster_tasks:ClusterClassify", "population": 4, "epochs": 3, "step": 1,
           "seed": 5, "workers": 2, "progress": False, "tensorboard": False, **kw}
    proc = subprocess.Popen([sys.executable, str(HERE / "cluster_driver.py"), c.address, str(run), json.dumps(cfg)],
                            env=c.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return cfg, proc


def _finish(proc: subprocess.Popen[str], timeout: float = 240) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the search driver hung (killed after {timeout:.0f} s):\n{err[-4000:]}") from None
    assert proc.returncode == 0, err[-4000:]
    return json.loads(out.strip().splitlines()[-1])


def _snapshots(run: Path) -> dict[int, dict[str, Any]]:
    return {int(p.stem.split("_")[1]): json.loads(p.read_text()) for p in (run / "population").glob("*.json")}


def _check_complete(run: Path, epochs: int, population: int) -> dict[int, dict[str, Any]]:
    """Results and checkpoints of every member and step are in the driver's run directory."""
    assert json.loads((run / "progress.json").read_text())["complete"]
    snaps = _snapshots(run)
    assert sorted(snaps) == list(range(epochs + 1))
    for epoch in range(1, epochs + 1):
        evaluated = snaps[epoch]["evaluated"]
        assert sorted(e["slot"] for e in evaluated) == list(range(population))
        assert all(e["status"] == "ok" and isinstance(e["fitness"], float) for e in evaluated)
    final = snaps[epochs]["members"]
    assert all(m["status"] == "ok" and [f[0] for f in m["fitness"]][-1] == epochs for m in final)
    for slot in range(population):
        state = load_state(run / "checkpoints" / f"epoch_{epochs:04d}" / f"member_{slot:02d}.pt")
        assert state["meta"]["epochs"] == epochs
    assert (run / "best" / "model.pt").is_file() and (run / "best" / "genome.json").is_file()
    return snaps


def test_search_on_two_nodes(cluster: LocalCluster, tmp_path: Path) -> None:
    """Members train on both nodes; the driver's run directory is complete; per-step files written by the
    workers' task came back through Ray (the worker never writes into the run directory)."""
    run = tmp_path / "run"
    cfg, proc = _search(cluster, run)
    result = _finish(proc)
    nodes = set(result["nodes"])
    assert len(nodes) == 2 and all(result["nodes"].values())
    snaps = _check_complete(run, cfg["epochs"], cfg["population"])
    used = {e["node"] for epoch in range(1, 4) for e in snaps[epoch]["evaluated"]}
    assert used == nodes, f"steps ran on {used}, the cluster has {nodes}"
    assert result["restarts"] == 0 and result["failures"] == 0
    for epoch in range(1, 4):
        for e in snaps[epoch]["evaluated"]:
            where = json.loads((run / "workdirs" / "where" / f"member_{e['uid']:04d}" /
                                f"epoch_{epoch:04d}.json").read_text())
            assert where["node"] == e["node"] and where["uid"] == e["uid"]
    # both nodes, started on 127.0.0.1 (ray_node.py), listen on loopback only, workers included
    listeners = listeners_of(cluster.pids("head") | cluster.pids("node2"))
    assert {"gcs_server", "raylet"} <= {x.name for x in listeners} and result["workers"] == 2
    assert all(x.loopback for x in listeners), [x for x in listeners if not x.loopback]


def test_node_lost_mid_step(cluster: LocalCluster, tmp_path: Path) -> None:
    """As many workers as the cluster's CPUs (the default): 2 on the head, 1 on node2. node2's raylet and workers
    are SIGKILLed while its second member of step 2 trains. The first one's result (which lived in node2's object
    store) is safe; the killed member is retrained from its checkpoint by a head actor, since its replacement
    actor finds no free CPU; the run completes with every member accounted for."""
    markers = tmp_path / "markers"
    markers.mkdir()
    run = tmp_path / "run"
    cfg, proc = _search(cluster, run, seed=6, population=6, workers=None,
                        task_options={"marker_dir": str(markers), "hold_epoch": 1, "hold_seconds": 4.0})
    killed: set[int] = set()
    deadline = time.monotonic() + 180
    try:
        while not killed and time.monotonic() < deadline and proc.poll() is None:
            node2 = cluster.pids("node2")
            on_node2 = 0
            for marker in markers.glob("*.json"):
                try:
                    on_node2 += json.loads(marker.read_text())["pid"] in node2
                except ValueError:  # being written
                    continue
            # node2's second member of the step: the first one's trained state exists only in node2's object store
            if on_node2 == 2:
                killed = cluster.kill_node("node2")
            time.sleep(0.05)
    finally:
        if not killed:
            proc.kill()
    assert killed, "node2 did not start a second member in step 2"
    t_kill = time.monotonic()
    result = _finish(proc)
    recovery = time.monotonic() - t_kill
    snaps = _check_complete(run, cfg["epochs"], cfg["population"])
    assert result["workers"] == 3 and result["restarts"] == 1 and result["failures"] == 0
    head = result["driver_node"]
    assert {e["node"] for e in snaps[1]["evaluated"]} == set(result["nodes"])  # step 1 used both nodes
    # step 2: node2's first member finished before the kill (its state survived), the second was retrained on the
    # head; step 3 ran on the head only
    assert sum(e["node"] != head for e in snaps[2]["evaluated"]) == 1
    assert {e["node"] for e in snaps[3]["evaluated"]} == {head}
    assert "died" in (run / "log.txt").read_text()
    print(f"node lost: run finished {recovery:.1f} s after the kill, {result['restarts']} worker restart(s)")
