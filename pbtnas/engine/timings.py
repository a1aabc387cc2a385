"""Where a search's wall time goes: a small record of named phases the driver keeps and writes to
``RUN/timings.json`` (imports, Ray start, actor start, the initial population, each step, the final export).

Each phase records its wall seconds and the driver process's CPU seconds (``time.process_time``): on a loaded
machine the wall time of a phase grows with the load, its CPU time tells whether the driver itself did the work.
Phases are measured back to back by one clock, so they sum to the wall time they cover; ``imports`` reaches back to
the start of the process (Linux: ``/proc``), which is the part a user waits for before pbtnas can measure anything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Phase", "Timings", "process_age"]


def process_age() -> float | None:
    """Seconds since this process started (0.01 s resolution), or None where ``/proc`` does not say."""
    try:
        with open("/proc/self/stat") as f:
            stat = f.read()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        # The command name (field 2) may hold spaces: the fields after its closing parenthesis are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5), starttime, in clock ticks since boot
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Phase:
    name: str
    seconds: float
    cpu_seconds: float  # the driver process's CPU time (all its threads) during the phase


@dataclass
class Timings:
    """Phases measured one after the other from ``begin``; ``phase(name)`` measures a block, ``lap(name)`` closes
    a phase that began where the previous one ended (so nothing between them goes unaccounted)."""

    phases: list[Phase] = field(default_factory=list)
    _t: float = field(default_factory=time.perf_counter)
    _cpu: float = field(default_factory=time.process_time)

    @classmethod
    def since_process_start(cls) -> Timings:
        """A record whose first phase, ``imports``, is the process's life so far (interpreter, CLI, torch...)."""
        timings = cls()
        age = process_age()
        if age is not None:
            timings.phases.append(Phase("imports", age, timings._cpu))
        return timings

    def lap(self, name: str) -> Phase:
        now, cpu = time.perf_counter(), time.process_time()
        phase = Phase(name, now - self._t, cpu - self._cpu)
        self.phases.append(phase)
        self._t, self._cpu = now, cpu
        return phase

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block; what ran since the last phase (untimed glue) goes to ``other`` so the sum stays whole."""
        gap = time.perf_counter() - self._t
        if gap > 0.005:
            self.lap("other")
        else:
            self._t, self._cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.lap(name)

    @property
    def total(self) -> float:
        return sum(p.seconds for p in self.phases)

    def grouped(self) -> dict[str, float]:
        """Seconds by phase name, steps summed as ``steps`` (the one-line summary)."""
        out: dict[str, float] = {}
        for p in self.phases:
            key = "steps" if p.name.startswith("step ") else p.name
            out[key] = out.get(key, 0.0) + p.seconds
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "total_seconds": round(self.total, 4),
            "phases": [{"name": p.name, "seconds": round(p.seconds, 4), "cpu_seconds": round(p.cpu_seconds, 4)}
                       for p in self.phases],
        }

    def line(self) -> str:
        """``timings: imports 3.1 s, ray start 1.2 s, ... = 9.8 s``: what the CLI prints at the end of a search."""
        parts = [f"{name} {seconds:.1f} s" for name, seconds in self.grouped().items()]
        return f"timings: {', '.join(parts)} = {self.total:.1f} s"
