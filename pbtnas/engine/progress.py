"""A rich progress bar for a search: step, epoch, best and median fitness, time left."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pbtnas.engine.schedule import Step

__all__ = ["RichProgress"]


def _fmt(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.4g}"


class RichProgress:
    def __init__(self, n_steps: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.n_steps = n_steps
        self.best = -math.inf
        self.median = -math.inf
        self._bar = Progress(
            TextColumn("[bold]step {task.fields[step]}/{task.fields[n_steps]}"),
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}  median {task.fields[median]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = None

    def start(self, total: int, done: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task(
            "search", total=total, completed=done, step=0, n_steps=self.n_steps, epoch=0, best="-", median="-"
        )

    def member_done(self, step: Step, fitness: float | None) -> None:
        assert self._task is not None
        self._bar.update(self._task, advance=1, step=step.index + 1, epoch=f"{step.start}->{step.end}")

    def step_done(self, step: Step, best: float, median: float) -> None:
        assert self._task is not None
        self._bar.update(self._task, step=step.index + 1, epoch=step.end, best=_fmt(best), median=_fmt(median))

    def message(self, text: str) -> None:
        self._bar.console.print(text)

    def stop(self) -> None:
        self._bar.stop()
