"""The run directory: every file a run writes, written atomically (temporary file + rename) and checksummed, so that
a run killed at any moment, or a file damaged later, leaves an intact step to resume from (docs/faults.md).

Layout (``RUN`` = the run directory)::

    RUN/run.json                     format version, space name and schema hash, algorithm, creation time
    RUN/config.json                  the resolved, validated configuration
    RUN/space.json                   the compiled space artifact ({"loader": "module:Class", "artifact": ...})
    RUN/progress.json                the last committed step and its manifest's sha256 (written last: the commit
                                     point of a step)
    RUN/population/epoch_EEEE.json   the population ready to train from epoch E (genomes as ints and option
                                     names, fitness history, lineage, status) and what the step did (events)
    RUN/checkpoints/epoch_EEEE/member_SS.pt   every member's state at epoch E (the last two steps are kept)
    RUN/checkpoints/epoch_EEEE/manifest.json  sha256 of every file of step E and the driver's bookkeeping
    RUN/lineage.json                 per step, the share of (member, gene) pairs from each initial member
    RUN/best/                        the best member of the final population: model.pt, genome.json, info.json,
                                     checksums.json
    RUN/best_ever/                   the best fitness seen at any step, same files
    RUN/best_ever_population/epoch_EEEE/   every member of that step as trained (member_SS.pt, population.json,
                                     checksums.json), when the run keeps it (keep_best_ever_population): the
                                     ingredients of the best-ever soup. Only the folder of the committed best-ever
                                     step survives a commit or a resume.
    RUN/log.txt                      the run's log
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch

from pbtnas.errors import UserError

__all__ = [
    "CHECKSUMS_NAME",
    "CheckpointError",
    "FORMAT_VERSION",
    "ResumePoint",
    "RunDir",
    "RunDirError",
    "RunLogHandler",
    "WriteError",
    "atomic_write_bytes",
    "atomic_write_json",
    "load_state",
    "save_state",
    "sha256_file",
    "verify_folder",
]

FORMAT_VERSION = 1
MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"
CHECKSUMS_NAME = "checksums.json"

log = logging.getLogger("pbtnas.engine")



def _empty_staging(d: Path) -> Path:
    """An empty staging folder at ``d``; one left by a run killed while writing it is removed first."""
    try:
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    except OSError as err:
        raise WriteError(d, err) from err
    return d

class RunDirError(UserError):
    """A run directory that cannot be used as it is (no intact step, a write that failed): a user-facing message,
    printed without a traceback."""


class WriteError(OSError):
    """Writing one file of the run failed (disk full, permissions, I/O error); names the file."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.strerror}"


class RunLogHandler(logging.FileHandler):
    """The run's log file. A log line that cannot be written (the disk is full) is dropped silently: the failure
    that matters is reported by the write that the run needs, and logging's default would print a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass


# writing -------------------------------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _HashingWriter:
    """Passes bytes to the file and hashes them on the way, so a checksum costs no second read of a large file."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def _write_atomically(path: Path, produce: Callable[[Any], None], sync_dir: bool = True) -> str:
    """Write ``path`` through a temporary file in the same folder (fsynced, then renamed over ``path``); returns
    the sha256 of the bytes written. Every file of a run goes through here."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise WriteError(path, err) from err
    try:
        with os.fdopen(fd, "wb") as f:
            writer = _HashingWriter(f)
            produce(writer)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(path, err) from err
        raise
    if sync_dir:
        _fsync_dir(path.parent)
    return writer.sha.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> str:
    return _write_atomically(Path(path), lambda f: f.write(data))


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode()


def atomic_write_json(path: Path, obj: Any) -> str:
    return atomic_write_bytes(path, _json_bytes(obj))


def save_state(path: Path, state: Any, sync_dir: bool = True) -> str:
    """torch.save through a temporary file; the file holds only tensors and JSON-able containers. Returns its
    sha256."""
    return _write_atomically(Path(path), lambda f: torch.save(state, f), sync_dir=sync_dir)


class CheckpointError(UserError, ValueError):
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


# checking ------------------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _body_digest(obj: dict[str, Any]) -> str:
    """The checksum a JSON document carries of itself (every key but "sha256"), so a damaged byte that still
    parses is caught too."""
    body = {k: v for k, v in obj.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _sealed(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "sha256": _body_digest(obj)}


def _read_sealed(path: Path, root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(document, None) when ``path`` is intact, else (None, a problem naming the file)."""
    name = _rel(path, root)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None, f"{name}: missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{name}: unreadable or truncated ({type(err).__name__})"
    if not isinstance(doc, dict) or doc.get("sha256") != _body_digest(doc):
        return None, f"{name}: checksum mismatch (the file was damaged)"
    return doc, None


def _check_files(root: Path, files: dict[str, str]) -> list[str]:
    problems = []
    for rel, expected in files.items():
        path = root / rel
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            problems.append(f"{rel}: missing")
            continue
        except OSError as err:
            problems.append(f"{rel}: unreadable ({err.strerror})")
            continue
        if actual != expected:
            problems.append(f"{rel}: checksum mismatch (the file is truncated or corrupted)")
    return problems


def verify_folder(folder: Path) -> list[str]:
    """Problems of a best/, best_ever/ or soup folder against its checksums.json (empty when intact)."""
    doc, problem = _read_sealed(folder / CHECKSUMS_NAME, folder.parent)
    if doc is None:
        return [problem or f"{folder.name}/{CHECKSUMS_NAME}: unreadable"]
    return _check_files(folder.parent, {f"{folder.name}/{k}": v for k, v in doc["files"].items()})


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@dataclass
class ResumePoint:
    """The step a run continues from: its epoch, its manifest (files and the driver's bookkeeping) and what was
    found damaged on the way to it (empty when the committed step was intact)."""

    epoch: int
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    legacy: bool = False  # a run written before manifests existed: nothing to verify


class RunDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._staged: dict[Path, dict[str, str]] = {}  # staging folder -> {file name: sha256}

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

    @property
    def lineage_path(self) -> Path:
        return self.root / "lineage.json"

    def population_path(self, epoch: int) -> Path:
        return self.root / "population" / f"epoch_{epoch:04d}.json"

    def checkpoint_dir(self, epoch: int) -> Path:
        return self.root / "checkpoints" / f"epoch_{epoch:04d}"

    def checkpoint_path(self, epoch: int, slot: int) -> Path:
        return self.checkpoint_dir(epoch) / f"member_{slot:02d}.pt"

    def manifest_path(self, epoch: int) -> Path:
        return self.checkpoint_dir(epoch) / MANIFEST_NAME

    def exists(self) -> bool:
        return self.progress_path.exists()

    def read_json(self, path: Path) -> Any:
        return json.loads(path.read_text())

    def read_progress(self) -> dict[str, Any] | None:
        return self.read_json(self.progress_path) if self.progress_path.exists() else None

    # a step ---------------------------------------------------------------------------------------------------
    def staging_dir(self, epoch: int) -> Path:
        d = _empty_staging(self.root / "checkpoints" / f".epoch_{epoch:04d}.partial")
        self._staged[d] = {}
        return d

    def write_checkpoint(self, staging: Path, slot: int, state: Any) -> None:
        """One member's state into the step's staging folder; its checksum is kept for the step's manifest."""
        name = f"member_{slot:02d}.pt"
        # The staging folder is fsynced once before it is renamed into place (commit_checkpoints).
        digest = save_state(staging / name, state, sync_dir=False)
        self._staged.setdefault(staging, {})[name] = digest

    def discard_staging(self) -> None:
        """Remove half-written step folders (after a failed write they only hold space the user needs back)."""
        parent = self.root / "checkpoints"
        for d in parent.glob(".epoch_*.partial") if parent.exists() else []:
            shutil.rmtree(d, ignore_errors=True)
        self._staged.clear()

    def commit_checkpoints(self, epoch: int, staging: Path) -> dict[str, str]:
        """Rename the staging folder into place; returns {path relative to the run: sha256} of its checkpoints."""
        final = self.checkpoint_dir(epoch)
        digests = self._staged.pop(staging, {})
        try:
            _fsync_dir(staging)
            if final.exists():  # written by a killed run that did not reach its commit point: stale
                shutil.rmtree(final)
            os.replace(staging, final)
        except OSError as err:
            raise WriteError(final, err) from err
        _fsync_dir(final.parent)
        return {_rel(final / name, self.root): sha for name, sha in sorted(digests.items())}

    def write_population(self, epoch: int, snapshot: dict[str, Any]) -> dict[str, str]:
        path = self.population_path(epoch)
        return {_rel(path, self.root): atomic_write_json(path, snapshot)}  # strict JSON: infinities are strings

    def write_manifest(self, epoch: int, files: dict[str, str], state: dict[str, Any]) -> str:
        """The step's manifest, inside its (already committed) checkpoint folder: every file's sha256 and the
        bookkeeping a resume from this step needs. Returns the manifest's own sha256."""
        doc = _sealed({"format": MANIFEST_FORMAT, "epoch": epoch, "files": files, "state": state})
        return atomic_write_json(self.manifest_path(epoch), doc)

    def manifest_digest(self, epoch: int) -> str:
        return sha256_file(self.manifest_path(epoch))

    def write_progress(self, progress: dict[str, Any], manifest_sha: str) -> None:
        """The commit point of a step."""
        epoch = int(progress["epoch"])
        doc = _sealed({**progress, "manifest": _rel(self.manifest_path(epoch), self.root),
                       "manifest_sha256": manifest_sha})
        atomic_write_json(self.progress_path, doc)

    def write_lineage(self, history: list[dict[str, Any]]) -> None:
        atomic_write_json(self.lineage_path, history)

    def prune_checkpoints(self, keep_epochs: Iterable[int]) -> None:
        """Delete checkpoint folders of other epochs (and half-written ones); only after progress.json points at
        the newest of ``keep_epochs``."""
        parent = self.root / "checkpoints"
        if not parent.exists():
            return
        keep = {f"epoch_{e:04d}" for e in keep_epochs}
        for d in sorted(parent.iterdir()):
            if d.is_dir() and d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)

    # resuming -------------------------------------------------------------------------------------------------
    def remove_temporaries(self) -> None:
        """Delete the temporary files of writes a killed run left half done (never part of any step)."""
        folders = [self.root, self.root / "population"]
        if (self.root / "checkpoints").exists():
            folders += [d for d in (self.root / "checkpoints").iterdir() if d.is_dir()]
        for folder in folders:
            for path in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def step_epochs(self) -> list[int]:
        """Epochs that have a checkpoint folder, newest first."""
        parent = self.root / "checkpoints"
        if not parent.exists():
            return []
        epochs = []
        for d in parent.iterdir():
            name = d.name
            if d.is_dir() and name.startswith("epoch_") and name[6:].isdigit():
                epochs.append(int(name[6:]))
        return sorted(epochs, reverse=True)

    def verify_step(self, epoch: int, manifest_sha: str | None = None) -> tuple[dict[str, Any] | None, list[str]]:
        """(manifest, []) when step ``epoch`` and every file it lists are intact, else (None, problems)."""
        path = self.manifest_path(epoch)
        manifest, problem = _read_sealed(path, self.root)
        if manifest is None:
            return None, [problem or f"{_rel(path, self.root)}: unreadable"]
        if manifest_sha is not None and sha256_file(path) != manifest_sha:
            return None, [f"{_rel(path, self.root)}: not the manifest progress.json committed"]
        problems = _check_files(self.root, manifest["files"])
        return (manifest, []) if not problems else (None, problems)

    def find_resume_point(self) -> ResumePoint | None:
        """The newest intact committed step; ``None`` when no step was ever committed (a run killed while it
        initialised starts again). Raises ``RunDirError`` when steps were committed but none is intact."""
        problems: list[str] = []
        progress, problem = (None, None)
        if self.progress_path.exists():
            progress, problem = _read_sealed(self.progress_path, self.root)
            if progress is None:
                raw = self._raw_progress()
                if raw is not None and "manifest_sha256" not in raw:  # written before checksums existed
                    return self._legacy_point(raw)
                problems.append(problem or "progress.json: unreadable")
        committed = int(progress["epoch"]) if progress is not None else None
        epochs = self.step_epochs()
        if committed is not None and committed not in epochs:
            problems.append(f"{_rel(self.checkpoint_dir(committed), self.root)}: missing")
        for epoch in epochs:
            if committed is not None and epoch > committed:
                continue  # written by a step that never reached its commit point
            expected = progress["manifest_sha256"] if progress is not None and epoch == committed else None
            manifest, step_problems = self.verify_step(epoch, expected)
            if manifest is not None:
                return ResumePoint(epoch, manifest, problems)
            problems.extend(step_problems)
        if progress is None and not self.progress_path.exists():
            return None
        listed = "\n  ".join(problems) or "no checkpoint folder"
        raise RunDirError(
            f"{self.root}: no intact step to resume from:\n  {listed}\n"
            "hint: the damaged files cannot be repaired; start a new run (the population files and best_ever/ "
            "of this one stay readable where intact)"
        )

    def _raw_progress(self) -> dict[str, Any] | None:
        try:
            raw = json.loads(self.progress_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return raw if isinstance(raw, dict) and "epoch" in raw else None

    def _legacy_point(self, progress: dict[str, Any]) -> ResumePoint:
        epoch = int(progress["epoch"])
        history = self.read_json(self.lineage_path) if self.lineage_path.exists() else []
        state = {"progress": progress, "lineage_history": [h for h in history if h["epoch"] <= epoch]}
        return ResumePoint(epoch, {"epoch": epoch, "files": {}, "state": state}, legacy=True)

    # the best-ever step's population ---------------------------------------------------------------------------
    @property
    def best_ever_population_root(self) -> Path:
        return self.root / "best_ever_population"

    def best_ever_population_dir(self, epoch: int) -> Path:
        return self.best_ever_population_root / f"epoch_{epoch:04d}"

    def write_best_ever_population(self, epoch: int, members: list[dict[str, Any]],
                                   states: Iterable[tuple[int, Any]]) -> None:
        """RUN/best_ever_population/epoch_EEEE/ as a unit (staging folder renamed into place). A folder of another
        epoch is left alone here: it is the committed one until progress.json points at this step
        (``prune_best_ever_population`` runs after the commit)."""
        final = self.best_ever_population_dir(epoch)
        staging = _empty_staging(self.best_ever_population_root / f".epoch_{epoch:04d}.partial")
        files = {f"member_{slot:02d}.pt": save_state(staging / f"member_{slot:02d}.pt", state, sync_dir=False)
                 for slot, state in states}  # one state in memory at a time: a paper-scale population is gigabytes
        files["population.json"] = atomic_write_json(staging / "population.json", {"epoch": epoch, "members": members})
        atomic_write_json(staging / CHECKSUMS_NAME, _sealed({"files": files}))
        try:
            _fsync_dir(staging)
            if final.exists():  # written by a killed run for a step it never committed: stale
                shutil.rmtree(final)
            os.replace(staging, final)
        except OSError as err:
            raise WriteError(final, err) from err
        _fsync_dir(final.parent)

    def prune_best_ever_population(self, keep_epoch: int | None) -> None:
        """Delete best-ever population folders other than ``keep_epoch``'s (and half-written ones); only after
        progress.json names ``keep_epoch`` as the best-ever step."""
        parent = self.best_ever_population_root
        if not parent.exists():
            return
        for d in sorted(parent.iterdir()):
            if d.is_dir() and (keep_epoch is None or d.name != f"epoch_{keep_epoch:04d}"):
                shutil.rmtree(d, ignore_errors=True)

    def read_best_ever_population(self, epoch: int) -> tuple[list[dict[str, Any]], Callable[[int], Any]]:
        """(members as trained at ``epoch``, a loader of one slot's state), after checking every checksum;
        RunDirError naming what is missing or damaged."""
        folder = self.best_ever_population_dir(epoch)
        if not folder.is_dir():
            raise RunDirError(f"{_rel(folder, self.root)}: missing (the run did not keep its best-ever population: "
                              "set keep_best_ever_population = true in the config of a new run)")
        problems = verify_folder(folder)
        if problems:
            raise RunDirError(f"{_rel(folder, self.root)} is damaged:\n  " + "\n  ".join(problems))
        members = self.read_json(folder / "population.json")["members"]
        return members, lambda slot: load_state(folder / f"member_{slot:02d}.pt")

    # best networks --------------------------------------------------------------------------------------------
    def write_best(self, which: str, model: dict[str, Any], genome_json: dict[str, Any], info: dict[str, Any]) -> None:
        """Write RUN/<which>/ (model.pt, genome.json, info.json, checksums.json) as a unit: a staging folder renamed
        into place, so the files always belong together."""
        final = self.root / which
        staging = _empty_staging(self.root / f".{which}.partial")
        old = self.root / f".{which}.old"
        files = {
            "model.pt": save_state(staging / "model.pt", model),
            "genome.json": atomic_write_json(staging / "genome.json", genome_json),
            "info.json": atomic_write_json(staging / "info.json", info),
        }
        atomic_write_json(staging / CHECKSUMS_NAME, _sealed({"files": files}))
        try:
            if old.exists():
                shutil.rmtree(old)
            if final.exists():
                os.replace(final, old)
            os.replace(staging, final)
        except OSError as err:
            raise WriteError(final, err) from err
        _fsync_dir(self.root)
        shutil.rmtree(old, ignore_errors=True)
