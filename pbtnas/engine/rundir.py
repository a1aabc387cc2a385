"""The run directory: every file a run writes, written atomically (temporary file + rename), so that a run killed
at any moment leaves either the previous complete step or the new one, never a half-written file.

Layout (``RUN`` = the run directory)::

    RUN/run.json                     format version, space name and schema hash, algorithm, creation time
    RUN/config.json                  the resolved, validated configuration
    RUN/space.json                   the compiled space artifact ({"loader": "module:Class", "artifact": ...})
    RUN/progress.json                the last complete step (written last: the commit point of a step)
    RUN/population/epoch_EEEE.json   the population ready to train from epoch E (genomes as ints and option
                                     names, fitness history, lineage, status) and what the step did (events)
    RUN/checkpoints/epoch_EEEE/member_SS.pt   every member's state at epoch E (only the latest step is kept)
    RUN/lineage.json                 per step, the share of (member, gene) pairs from each initial member
    RUN/best/                        the best member of the final population: model.pt, genome.json, info.json
    RUN/best_ever/                   the best fitness seen at any step, same files
    RUN/log.txt                      the run's log
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "RunDir", "atomic_write_bytes", "atomic_write_json", "load_state", "save_state"]

FORMAT_VERSION = 1


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def save_state(path: Path, state: Any) -> None:
    """torch.save through a temporary file; the file holds only tensors and JSON-able containers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CheckpointError(ValueError):
    """A checkpoint that cannot be read as tensors and plain containers; the message names the file."""


def load_state(path: Path) -> Any:
    # weights_only=True: a checkpoint is data. A pickle that asks for any other object (a crafted __reduce__, a
    # class of some module) is refused by torch's restricted unpickler before anything runs.
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} is missing") from None
    except Exception as err:  # UnpicklingError, RuntimeError (not a zip/torch file), EOFError (truncated), ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"refusing checkpoint {path}: it is not a file of tensors pbtnas wrote ({type(err).__name__}: {first})"
        ) from None


class RunDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # fixed files ------------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def space_path(self) -> Path:
        return self.root / "space.json"

    @property
    def progress_path(self) -> Path:
        return self.root / "progress.json"

    @property
    def log_path(self) -> Path:
        return self.root / "log.txt"

    def population_path(self, epoch: int) -> Path:
        return self.root / "population" / f"epoch_{epoch:04d}.json"

    def checkpoint_dir(self, epoch: int) -> Path:
        return self.root / "checkpoints" / f"epoch_{epoch:04d}"

    def checkpoint_path(self, epoch: int, slot: int) -> Path:
        return self.checkpoint_dir(epoch) / f"member_{slot:02d}.pt"

    def exists(self) -> bool:
        return self.progress_path.exists()

    def read_json(self, path: Path) -> Any:
        return json.loads(path.read_text())

    def read_progress(self) -> dict[str, Any] | None:
        return self.read_json(self.progress_path) if self.progress_path.exists() else None

    # a step ---------------------------------------------------------------------------------------------------
    def staging_dir(self, epoch: int) -> Path:
        d = self.root / "checkpoints" / f".epoch_{epoch:04d}.partial"
        if d.exists():  # left by a run killed while writing this step
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d

    def commit_checkpoints(self, epoch: int, staging: Path) -> None:
        final = self.checkpoint_dir(epoch)
        if final.exists():  # written by a killed run that did not reach its commit point: stale
            shutil.rmtree(final)
        os.replace(staging, final)
        _fsync_dir(final.parent)

    def prune_checkpoints(self, keep_epoch: int) -> None:
        """Delete checkpoint directories of other epochs; only after progress.json points at ``keep_epoch``."""
        parent = self.root / "checkpoints"
        if not parent.exists():
            return
        for d in parent.iterdir():
            if d.is_dir() and d.name != f"epoch_{keep_epoch:04d}":
                shutil.rmtree(d, ignore_errors=True)

    def write_best(self, which: str, model: dict[str, Any], genome_json: dict[str, Any], info: dict[str, Any]) -> None:
        """Write RUN/<which>/ (model.pt, genome.json, info.json) as a unit: a staging folder renamed into place,
        so the three files always belong together."""
        final = self.root / which
        staging = self.root / f".{which}.partial"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        save_state(staging / "model.pt", model)
        atomic_write_json(staging / "genome.json", genome_json)
        atomic_write_json(staging / "info.json", info)
        old = self.root / f".{which}.old"
        if old.exists():
            shutil.rmtree(old)
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
        _fsync_dir(self.root)
        shutil.rmtree(old, ignore_errors=True)
