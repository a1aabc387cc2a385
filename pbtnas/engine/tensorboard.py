"""TensorBoard logging of a search: every member's fitness and training metrics, tagged by member uid and genome hash.

The engine calls ``log_step`` once per step, after the members were evaluated and before selection replaces any
(so every evaluated uid still has its genome)::

    from pbtnas.engine.tensorboard import log_step, close
    log_step(run_dir, step.end, evaluated, members)   # evaluated: the step's "evaluated" list; members: Member objects
    ...
    close(run_dir)                                    # at the end of the search (flushes and closes the writer)

Events go to ``RUN/tensorboard/``; ``tensorboard --logdir runs/`` shows every run. Tags:

* ``member/uid_0007-g3fa2b19c/fitness`` and ``member/uid_0007-g3fa2b19c/<metric>`` (``train_loss``, ``d_loss``…),
  x = epoch. The uid is unique over the run; the genome hash (8 hex digits of SHA-1 of the genome's integers) groups
  members that share an architecture.
* ``population/best``, ``population/median``, ``population/best_so_far``, ``population/failed``.

``backfill(run_dir)`` writes the same events from a finished (or killed) run's population files, exactly: the
members evaluated at the end of a step are the members of the population file at the step's start.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["backfill", "close", "genome_hash", "log_step", "member_tag"]

_WRITERS: dict[Path, Any] = {}
_BEST: dict[Path, float] = {}


def genome_hash(genome: Sequence[int]) -> str:
    return hashlib.sha1(",".join(str(int(v)) for v in genome).encode()).hexdigest()[:8]


def member_tag(uid: int, genome: Sequence[int]) -> str:
    return f"member/uid_{int(uid):04d}-g{genome_hash(genome)}"


def _writer(run_dir: Path | str) -> Any:
    from torch.utils.tensorboard import SummaryWriter

    key = Path(run_dir).resolve()
    if key not in _WRITERS:
        _WRITERS[key] = SummaryWriter(log_dir=str(key / "tensorboard"))
    return _WRITERS[key]


def _genome_of(member: Any) -> tuple[int, ...]:
    genome = member["genome"] if isinstance(member, Mapping) else member.genome
    return tuple(int(v) for v in genome)


def _uid_of(member: Any) -> int:
    return int(member["uid"] if isinstance(member, Mapping) else member.uid)


def _fitness(x: Any) -> float:
    return float(x) if x is not None else math.nan  # "-inf" strings of the run files become floats too


def log_step(run_dir: Path | str, epoch: int, evaluated: Iterable[Mapping[str, Any]], members: Iterable[Any]) -> int:
    """Log one step: ``evaluated`` is the step's list of ``{"uid", "fitness", "status", "metrics"}`` (as the engine
    writes it in the population file), ``members`` the members that were trained (objects or dicts with ``uid``
    and ``genome``). Returns the number of scalars written. Never raises on a member it cannot place: a uid without
    a genome is tagged ``g????????``."""
    w = _writer(run_dir)
    key = Path(run_dir).resolve()
    genomes = {_uid_of(m): _genome_of(m) for m in members}
    fits: list[float] = []
    failed = 0
    written = 0
    for e in evaluated:
        uid = int(e["uid"])
        genome = genomes.get(uid)
        tag = member_tag(uid, genome) if genome is not None else f"member/uid_{uid:04d}-g????????"
        fitness = _fitness(e.get("fitness"))
        if e.get("status", "ok") != "ok" or not math.isfinite(fitness):
            failed += 1
        else:
            fits.append(fitness)
            w.add_scalar(f"{tag}/fitness", fitness, epoch)
            written += 1
        for name, value in (e.get("metrics") or {}).items():
            if isinstance(value, (int, float)) and math.isfinite(float(value)):
                w.add_scalar(f"{tag}/{name}", float(value), epoch)
                written += 1
    if fits:
        best = max(fits)
        _BEST[key] = max(best, _BEST.get(key, -math.inf))
        w.add_scalar("population/best", best, epoch)
        w.add_scalar("population/median", statistics.median(fits), epoch)
        w.add_scalar("population/best_so_far", _BEST[key], epoch)
        written += 3
    w.add_scalar("population/failed", failed, epoch)
    w.flush()
    return written + 1


def close(run_dir: Path | str | None = None) -> None:
    """Flush and close the writer of ``run_dir`` (every writer when None)."""
    keys = list(_WRITERS) if run_dir is None else [Path(run_dir).resolve()]
    for key in keys:
        w = _WRITERS.pop(key, None)
        if w is not None:
            w.close()
        _BEST.pop(key, None)


def backfill(run_dir: Path | str) -> int:
    """Write the TensorBoard events of an existing run directory from its population files (for runs made without
    the live hook). Returns the number of steps logged."""
    root = Path(run_dir)
    files = sorted((root / "population").glob("epoch_*.json"))
    snapshots = [json.loads(f.read_text()) for f in files]
    steps = 0
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        if after.get("evaluated"):
            log_step(root, int(after["epoch"]), after["evaluated"], before["members"])
            steps += 1
    close(root)
    return steps
