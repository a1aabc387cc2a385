"""Ray as a cluster: starting or joining it (a laptop run reachable from this machine only), where a step ran, and
the files workers send back to the driver (no filesystem is shared between nodes).

Ray 2.60 rewrites a loopback node address (``ray.init(_node_ip_address="127.0.0.1")``, ``ray start
--node-ip-address 127.0.0.1``, ``--address 127.0.0.1:6379``) to the machine's routable address
(``ray._private.services.resolve_ip_for_localhost``); its GCS, raylet and worker gRPC servers then listen on every
interface. They bind 127.0.0.1 only when the node address really is 127.0.0.1. The rewrite is skipped exactly when
Ray believes multi-node clusters are unsupported (``ray_constants.ENABLE_RAY_CLUSTER``, false on macOS/Windows, set by
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``). That switch is read once at import, so setting the environment variable in
a running process is too late; we flip the module attribute for the duration of ``ray.init`` only. Every process Ray
starts receives the node address on its command line, so nothing else needs the switch afterwards.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Literal

import ray

from pbtnas.engine.rundir import atomic_write_bytes

__all__ = [
    "RayBind", "UnsafeOutputPath", "address_is_loopback", "current_node_id", "start_or_join", "write_worker_files",
]

log = logging.getLogger("pbtnas.engine")

RayBind = Literal["loopback", "all"]
LOOPBACK = "127.0.0.1"


def address_is_loopback(address: str) -> bool:
    """``127.0.0.1:6379``, ``localhost:6379``, ``[::1]:6379`` -> True; ``auto``, ``10.0.0.5:6379`` -> False."""
    host = address.rsplit(":", 1)[0] if ":" in address else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name or "auto": Ray resolves it to a routable address
        return False


@contextmanager
def _keep_loopback_addresses() -> Iterator[None]:
    from ray._private import ray_constants

    before = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    if before is None:  # a future Ray without the switch: ensure_ray checks the outcome and says so
        yield
        return
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` in this process's environment while the block runs (the Ray processes it starts inherit it), then
    the environment as it was: the driver's own torch keeps its kernels."""
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_or_join(address: str | None, bind: RayBind = "loopback", worker_env: Mapping[str, str] | None = None) -> None:
    """Start a local Ray (no ``address``) or join the cluster at ``address``.

    ``bind="loopback"``: a local Ray's servers listen on 127.0.0.1 only, and joining a head started on 127.0.0.1
    (``--address 127.0.0.1:PORT``) keeps that address instead of rewriting it to one the head does not listen on.
    ``bind="all"``: Ray's own behaviour (its servers on every interface, reachable by other machines).
    ``worker_env``: variables the processes of a local loopback Ray (raylet, hence every worker) start with.
    """
    common = {"logging_level": logging.WARNING, "log_to_driver": True}
    if address:
        if bind == "loopback" and address_is_loopback(address):
            with _keep_loopback_addresses():
                ray.init(address=address, _node_ip_address=LOOPBACK, **common)
        else:
            ray.init(address=address, **common)
        return
    if bind == "all":
        ray.init(include_dashboard=False, **common)
        return
    with _keep_loopback_addresses(), _environment(worker_env or {}):
        ray.init(include_dashboard=False, _node_ip_address=LOOPBACK, **common)
    node_ip = ray.util.get_node_ip_address()
    if node_ip != LOOPBACK:  # the switch above no longer works in this Ray version: say so, do not pretend
        log.warning("Ray bound its servers to %s, not 127.0.0.1: they are reachable from other machines; "
                    "firewall this host or report the Ray version", node_ip)


def current_node_id() -> str | None:
    """The Ray node this process runs on (hex id), or None outside Ray: recorded with every trained step."""
    if not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_node_id()


class UnsafeOutputPath(ValueError):
    """A task named a per-step output file outside its folder."""


def write_worker_files(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write the files a worker sent back with a step's report (``Task.after_step``) under ``folder``, in the
    driver: the run directory lives with the driver, and a worker on another machine never writes into it.
    Each name must be a relative path inside ``folder`` (no absolute path, no ``..``)."""
    written = []
    for name, data in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts or "\\" in name:
            raise UnsafeOutputPath(f"per-step output {name!r}: expected a relative path inside {folder}")
        path = folder.joinpath(*rel.parts)
        atomic_write_bytes(path, data)
        written.append(path)
    return written
