"""Read a run directory (docs/engine.md, "The run directory") into plain Python: never re-trains, never builds a
network, never imports torch. Everything the report shows comes from the JSON files a run writes:
``config.json``, ``run.json``, ``progress.json`` and ``population/epoch_EEEE.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbtnas.errors import UserError

__all__ = ["Evaluation", "RunData", "RunError", "algorithm_label", "load_run", "read_json", "setting_label"]


class RunError(UserError, ValueError):
    """The directory is not a (readable) pbtnas run; the message says what is missing."""


def _float(x: Any) -> float:
    return float(x) if x is not None else math.nan  # JSON stores infinities as "inf"/"-inf"/"nan" strings


@dataclass(frozen=True)
class Evaluation:
    """One member evaluated at the end of one step."""

    epoch: int
    uid: int
    slot: int
    fitness: float  # -inf for a failed member
    status: str
    metrics: dict[str, float]


@dataclass
class RunData:
    root: Path
    config: dict[str, Any]
    meta: dict[str, Any]  # run.json
    progress: dict[str, Any]
    snapshots: list[dict[str, Any]]  # population files, by epoch
    gene_names: list[str]
    evaluations: list[Evaluation] = field(default_factory=list)

    # identity --------------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.root.name

    @property
    def algorithm(self) -> str:
        return algorithm_label(self.config)

    @property
    def setting(self) -> str:
        return setting_label(self.config, self.meta)

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def complete(self) -> bool:
        return bool(self.progress.get("complete"))

    @property
    def epochs(self) -> list[int]:
        return [int(s["epoch"]) for s in self.snapshots]

    # results -----------------------------------------------------------------------------------------------
    def final_evaluations(self) -> list[Evaluation]:
        """The evaluations of the last step (the final population), best first."""
        if not self.evaluations:
            return []
        last = max(e.epoch for e in self.evaluations)
        return sorted((e for e in self.evaluations if e.epoch == last), key=lambda e: (-_rankable(e.fitness), e.slot))

    @property
    def final_fitness(self) -> float:
        """Best fitness of the final population (the paper's result for PBT-NAS: no retraining)."""
        finals = self.final_evaluations()
        return finals[0].fitness if finals else math.nan

    @property
    def best_ever_fitness(self) -> float:
        fits = [e.fitness for e in self.evaluations if math.isfinite(e.fitness)]
        return max(fits) if fits else math.nan

    def best_so_far(self) -> list[tuple[int, float]]:
        """(epoch, best fitness of any member evaluated at or before that epoch)."""
        by_epoch: dict[int, list[float]] = {}
        for e in self.evaluations:  # one pass: the dashboard calls this on runs of 300 steps
            by_epoch.setdefault(e.epoch, []).extend([e.fitness] if math.isfinite(e.fitness) else [])
        out: list[tuple[int, float]] = []
        best = -math.inf
        for epoch in sorted(by_epoch):
            best = max([best, *by_epoch[epoch]])
            out.append((epoch, best))
        return out

    def final_members(self) -> list[dict[str, Any]]:
        """The final population's members (as stored, with genome, choices and lineage), best first."""
        if not self.snapshots:
            return []
        snap = self.snapshots[-1]
        by_uid = {m["uid"]: m for m in snap["members"]}
        ranked = [by_uid[e.uid] for e in self.final_evaluations() if e.uid in by_uid]
        rest = [m for m in snap["members"] if m not in ranked]
        return ranked + rest

    def member(self, uid: int) -> dict[str, Any] | None:
        """A member as the newest population file that has it stores it (genome, lineage, origin, cost)."""
        for snap in reversed(self.snapshots):
            for m in snap["members"]:
                if m["uid"] == uid:
                    return m
        return None

    def member_fitness(self, uid: int) -> float:
        for e in reversed(self.evaluations):
            if e.uid == uid:
                return e.fitness
        return math.nan

    def events(self) -> list[tuple[int, dict[str, Any]]]:
        """Every selection event (mixing, mutation, restart) with the epoch it happened at."""
        return [(int(s["epoch"]), ev) for s in self.snapshots for ev in s.get("events", []) if "child_uid" in ev]

    def wall_seconds(self) -> float:
        return sum(float(s.get("wall_seconds") or 0.0) for s in self.snapshots)


def _rankable(x: float) -> float:
    return x if math.isfinite(x) else -math.inf


def algorithm_label(cfg: dict[str, Any]) -> str:
    """The paper's name for what a configuration runs (Tables 1-3)."""
    algorithm = cfg.get("algorithm", "pbtnas")
    sp = cfg.get("shrink_perturb")
    sp_t = tuple(float(x) for x in sp) if sp is not None else None
    if algorithm == "random":
        return "Random search" if sp_t is None else f"Random search + shrink-perturb {_sp(sp_t)}"
    if algorithm == "mutation":
        return "SEARL-like mutation"
    if algorithm == "bohb":
        return "BOHB"
    label = "No mixing" if cfg.get("mix_with_self") else "PBT-NAS"
    if sp_t is not None and sp_t != (0.4, 0.1):
        label += f", shrink-perturb {_sp(sp_t)}"
    return label


def _sp(sp: tuple[float, float]) -> str:
    return "[" + ", ".join(f"{x:g}" for x in sp) + "]"


def setting_label(cfg: dict[str, Any], meta: dict[str, Any] | None = None) -> str:
    """What the result is comparable with: space, task (dataset or environment) and population size."""
    space = (meta or {}).get("space") or Path(str(cfg.get("space", "?"))).stem
    task = cfg.get("task", "classify")
    opts = cfg.get("task_options") or {}
    where = opts.get("data") or opts.get("env") or ""
    parts = [str(space), str(task) + (f"/{where}" if where else ""), f"N={cfg.get('population', '?')}"]
    return " · ".join(parts)


def read_json(path: Path) -> Any:
    """One JSON file of a run; a missing or unreadable file is a ``RunError`` naming it."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise RunError(f"{path.parent}: no {path.name}: not a pbtnas run directory") from None
    except OSError as err:  # a directory where the file should be, permissions
        raise RunError(f"{path}: cannot read it ({err.strerror or err})") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise RunError(f"{path}: not valid JSON ({err})") from None


def load_run(root: Path | str, read: Callable[[Path], Any] | None = None) -> RunData:
    """Read a run directory. A run still going (or killed) is read up to its last complete step. ``read`` parses
    one JSON file (default: from disk each time); the dashboard passes a cache of parsed files keyed by their
    (mtime, size), so a refresh re-reads only the files that changed."""
    root = Path(root)
    if not root.is_dir():
        raise RunError(f"{root}: no such run directory")
    try:
        return _load_run(root, read or read_json)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:  # files of the wrong shape
        if isinstance(err, RunError):
            raise
        raise RunError(f"{root}: not a readable pbtnas run directory ({type(err).__name__}: {err})") from None


def _load_run(root: Path, read: Callable[[Path], Any]) -> RunData:
    config = read(root / "config.json")
    meta = read(root / "run.json") if (root / "run.json").exists() else {}
    progress = read(root / "progress.json")
    last = int(progress["epoch"])
    files = sorted((root / "population").glob("epoch_*.json"))
    snapshots = [s for s in (read(f) for f in files) if int(s["epoch"]) <= last]
    if not snapshots:
        raise RunError(f"{root}: no population snapshot yet")
    gene_names = list(snapshots[0]["members"][0].get("choices", {}).keys())
    if not gene_names:
        gene_names = [f"gene {i}" for i in range(len(snapshots[0]["members"][0]["genome"]))]
    evaluations = [
        Evaluation(
            epoch=int(s["epoch"]),
            uid=int(e["uid"]),
            slot=int(e["slot"]),
            fitness=_float(e["fitness"]),
            status=str(e.get("status", "ok")),
            metrics={k: float(v) for k, v in (e.get("metrics") or {}).items() if isinstance(v, (int, float))},
        )
        for s in snapshots
        for e in s.get("evaluated", [])
    ]
    return RunData(root, config, meta, progress, snapshots, gene_names, evaluations)
