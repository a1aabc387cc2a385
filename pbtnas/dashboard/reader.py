"""Reading run directories incrementally: every file is parsed once per (mtime, size), so a refresh of a page
re-reads only what the driver wrote since (a new population file, progress.json, the tail of log.txt), never the
files of the steps already seen. ``pbtnas.report.load`` re-reads every file on each call; the dashboard hands it
this cache's ``read`` instead."""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbtnas.report.load import RunData, load_run, read_json

__all__ = ["FileCache", "LogEvent", "LogTail", "RunReader", "RunState", "discover_runs"]

Stamp = tuple[int, int]  # (mtime in ns, size)


def stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class FileCache:
    """Parsed JSON files keyed by path, valid while the file's (mtime, size) is unchanged. ``reads`` counts the
    files actually parsed (the benchmark and the tests read it)."""

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[Stamp, Any]] = {}
        self._lock = threading.Lock()
        self.reads = 0

    def read(self, path: Path) -> Any:
        key = stamp(path)
        with self._lock:
            hit = self._entries.get(path)
        if key is not None and hit is not None and hit[0] == key:
            return hit[1]
        value = read_json(path)  # raises RunError naming the file when it is missing or not JSON
        with self._lock:
            self.reads += 1
            if key is not None:
                self._entries[path] = (key, value)
        return value


@dataclass(frozen=True)
class LogEvent:
    time: str
    level: str
    message: str


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")


@dataclass
class LogTail:
    """RUN/log.txt read from where the last read stopped (a shorter file than before starts over)."""

    path: Path
    offset: int = 0
    events: list[LogEvent] = field(default_factory=list)

    def update(self) -> list[LogEvent]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return self.events
        if size < self.offset:
            self.offset, self.events = 0, []
        if size == self.offset:
            return self.events
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        complete = chunk.rfind(b"\n") + 1  # a line still being written is read on the next update
        self.offset += complete
        for raw in chunk[:complete].decode("utf-8", "replace").splitlines():
            match = _LOG_LINE.match(raw)
            if match:
                self.events.append(LogEvent(*match.groups()))
        return self.events


@dataclass(frozen=True)
class RunState:
    """What a run is doing, judged from its files alone (the dashboard never asks the driver)."""

    state: str  # running, finished, failed, killed
    reason: str


def judge_state(complete: bool, log: list[LogEvent], last_write: float, stale_after: float) -> RunState:
    if complete:
        return RunState("finished", "all steps committed")
    for event in reversed(log):
        message = event.message
        if message.startswith("search stopped by"):
            return RunState("killed", message)
        if message.startswith("search stopped:") or message == "internal error":
            return RunState("failed", message)
        if message.startswith("search ") and message.endswith(("started", "resumed")):
            break  # the latest start: whatever ended an earlier attempt does not describe this one
    idle = time.time() - last_write
    if idle > stale_after:  # SIGKILL or a lost machine leave no line in the log
        return RunState("killed", f"no file written for {idle / 3600:.1f} h and no end in log.txt")
    return RunState("running", "steps are being committed")


class RunReader:
    """One run directory: its ``RunData`` rebuilt from cached files when a file changed, and ``version``, a token
    that changes whenever something a page shows may have changed (the pages poll with it)."""

    def __init__(self, root: Path, cache: FileCache, stale_after: float) -> None:
        self.root = root
        self.cache = cache
        self.stale_after = stale_after
        self.log = LogTail(root / "log.txt")
        self._lock = threading.Lock()
        self._data: RunData | None = None
        self._data_key: Any = None
        self._derived: dict[str, tuple[Any, Any]] = {}

    def _watched(self) -> tuple[Any, ...]:
        # progress.json is the commit point: a committed step always changes it. log.txt and the media folders
        # change between commits (failures, a GAN's grids), so they are part of the version too.
        return (stamp(self.root / "progress.json"), stamp(self.root / "log.txt"),
                stamp(self.root / "workdirs" / "generated"), stamp(self.root / "workdirs" / "videos"),
                stamp(self.root / "best"))

    @property
    def version(self) -> str:
        return format(hash(self._watched()) & 0xFFFFFFFFFFFF, "x")

    def data(self) -> RunData:
        """The run read up to its last committed step (a ``RunError`` when nothing is committed yet)."""
        with self._lock:
            key = stamp(self.root / "progress.json")
            if self._data is None or key != self._data_key:
                self._data = load_run(self.root, read=self.cache.read)
                self._data_key = key
                self._derived.clear()
            return self._data

    def derived(self, name: str, compute: Any) -> Any:
        """``compute(data)`` cached until the next committed step (the views of a run are pure functions of it)."""
        data = self.data()
        with self._lock:
            hit = self._derived.get(name)
            if hit is not None and hit[0] is data:
                return hit[1]
        value = compute(data)
        with self._lock:
            self._derived[name] = (data, value)
        return value

    def events(self) -> list[LogEvent]:
        with self._lock:
            return list(self.log.update())

    def state(self, complete: bool) -> RunState:
        writes = [s[0] / 1e9 for s in self._watched() if s is not None]
        return judge_state(complete, self.events(), max(writes, default=0.0), self.stale_after)


def is_run_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and ((path / "run.json").is_file() or (path / "progress.json").is_file())


def discover_runs(root: Path, max_depth: int = 4) -> list[Path]:
    """Run directories at or under ``root`` (``pbtnas experiment`` nests them as OUT/config/seed_N), sorted by path.
    Symbolic links are not followed: only what is inside the folder is shown."""
    if is_run_dir(root):
        return [root]
    found: list[Path] = []

    def walk(folder: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if is_run_dir(path):
                found.append(path)
            elif depth < max_depth and entry.name not in ("checkpoints", "population", "workdirs"):
                walk(path, depth + 1)

    walk(root, 1)
    return found
