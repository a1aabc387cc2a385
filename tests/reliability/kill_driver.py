"""A search driver that kills itself with SIGKILL at a chosen point of its persistence (tests/reliability).

    python kill_driver.py RAY_ADDRESS RUN_DIR CONFIG_JSON KILL_SPEC_JSON

It joins the test session's Ray, wraps one function of ``pbtnas.engine.rundir`` (or ``os.replace`` /
``shutil.rmtree``) and, at the k-th call whose path contains ``match``, sends SIGKILL to its own process:
``before`` the call, ``after`` it, ``half`` way through a file write (half the bytes in the temporary file, as a
killed ``write`` leaves them) or ``partial``ly through a folder deletion (one file removed). Production code has no
hooks: everything here is wrapping from outside. A run directory without progress.json starts a new run, as
``pbtnas search`` would; otherwise the run is resumed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from engine_double import DoubleSpace

from pbtnas.engine import rundir
from pbtnas.engine.commands import run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.rundir import RunDir


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Trigger:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.match: str = spec["match"]
        self.k: int = int(spec.get("k", 1))
        self.mode: str = spec.get("mode", "before")
        self.calls = 0

    def fires(self, path: Any) -> bool:
        if self.match not in Path(path).as_posix():
            return False
        self.calls += 1
        return self.calls == self.k


def half_written(path: Path, produce: Callable[[Any], None]) -> None:
    """Leave the temporary file a killed write leaves: named as rundir names it, holding half the bytes."""
    buffer = io.BytesIO()
    produce(buffer)
    data = buffer.getvalue()
    fd, _ = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        os.fsync(f.fileno())


def install(spec: dict[str, Any]) -> None:
    trigger = Trigger(spec)
    target = spec["target"]

    def around(path: Any, call: Callable[[], Any]) -> Any:
        if not trigger.fires(path):
            return call()
        if trigger.mode == "before":
            die()
        result = call()
        die()
        return result

    if target == "write":
        real_write = rundir._write_atomically

        def write(path: Path, produce: Callable[[Any], None], sync_dir: bool = True) -> str:
            if trigger.mode == "half" and trigger.fires(path):
                half_written(path, produce)
                die()
            if trigger.mode == "half":
                return real_write(path, produce, sync_dir)
            return around(path, lambda: real_write(path, produce, sync_dir))

        rundir._write_atomically = write  # type: ignore[assignment]
    elif target == "commit":
        real_commit = RunDir.commit_checkpoints

        def commit(self: RunDir, epoch: int, staging: Path) -> dict[str, str]:
            return around(self.checkpoint_dir(epoch), lambda: real_commit(self, epoch, staging))

        RunDir.commit_checkpoints = commit  # type: ignore[method-assign]
    elif target == "prune":
        real_prune = RunDir.prune_checkpoints

        def prune(self: RunDir, keep: Any) -> None:
            return around(self.root / "checkpoints", lambda: real_prune(self, keep))

        RunDir.prune_checkpoints = prune  # type: ignore[method-assign]
    elif target == "write_best":
        real_best = RunDir.write_best

        def write_best(self: RunDir, which: str, *args: Any) -> None:
            return around(self.root / which, lambda: real_best(self, which, *args))

        RunDir.write_best = write_best  # type: ignore[method-assign]
    elif target == "replace":
        real_replace = os.replace

        def replace(src: Any, dst: Any, **kw: Any) -> None:
            return around(dst, lambda: real_replace(src, dst, **kw))

        os.replace = replace  # type: ignore[assignment]
    elif target == "rmtree":
        real_rmtree = shutil.rmtree

        def rmtree(path: Any, *args: Any, **kw: Any) -> None:
            if trigger.mode == "partial" and trigger.fires(path):
                files = sorted(p for p in Path(path).rglob("*") if p.is_file())
                files[0].unlink()  # a deletion interrupted after its first file
                die()
            return real_rmtree(path, *args, **kw)

        shutil.rmtree = rmtree  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown target {target!r}")


def main() -> None:
    address, run_dir, cfg_json, spec_json = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    cfg = SearchConfig.model_validate({**json.loads(cfg_json), "address": address})
    spec = json.loads(spec_json)
    if spec:
        install(spec)
    run_search(cfg, DoubleSpace(), run_dir, resume=(run_dir / "config.json").exists())
    print("finished without being killed")


if __name__ == "__main__":
    main()
