"""The Python API's own functions; `pbtnas/__init__.py` exports them, and the layers' classes, lazily.

Everything here takes what the CLI takes and returns what the CLI prints, as Python objects: ``search`` is
``pbtnas search`` for notebooks. Nothing is imported at module level beyond the standard library, so ``import
pbtnas`` stays cheap; torch and Ray load when a network is built or a search starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pbtnas.compiler.space import CompiledSpace, Genome
    from pbtnas.engine.driver import RunSummary

__all__ = ["SearchResult", "random_genome", "search", "test_accuracy"]


class SearchResult(NamedTuple):
    run_dir: Path
    summary: RunSummary  # best_fitness, best_genome, epochs, wall_seconds, workers, restarts, failures, fitness


def search(space: str | Path | None = None, *, config: str | Path | None = None, resume: str | Path | None = None,
           **options: Any) -> SearchResult:
    """``pbtnas search`` from Python: the same options, named as in a config file (``population=4``,
    ``overrides={"width": "8"}`` for ``--set``, ``task_options={...}`` for ``--task-option``, and the task shortcuts
    ``data``, ``preset``, ``env``, ...). An option given here wins over ``config``'s; ``resume`` continues a run
    directory (then only execution options may be given). Unknown or invalid options raise ``pbtnas.UserError``
    with the CLI's message; Ctrl-C raises ``pbtnas.errors.Interrupted`` naming the run directory to resume."""
    from pbtnas.engine.commands import search as run, search_values

    options["space"] = None if space is None else str(space)
    summary, run_dir = run(search_values(options), None if config is None else Path(config),
                           None if resume is None else Path(resume))
    return SearchResult(Path(run_dir), summary)


def random_genome(space: CompiledSpace, seed: int | None = 0) -> Genome:
    """A uniformly random genome of ``space`` (``pbtnas sample``); ``seed=None`` draws a fresh one each call."""
    import numpy as np

    return space.random_genome(np.random.default_rng(seed))


def test_accuracy(run_dir: str | Path, uid: int | None = None, *, plugins: list[str] | None = None) -> float:
    """The test accuracy of a finished classify run's member ``uid`` of the final population, or of the final best
    (chosen on validation, as the search chose it) when ``uid`` is None; ``pbtnas evaluate RUN`` prints it with the
    confusion matrix. ``plugins`` names the plugin modules of a run searched with ``--plugin``. A run whose data has
    no test split raises ``pbtnas.UserError`` (search with ``task_options={"test_fraction": 0.2}`` to hold one
    out); the scores behind it, confusion matrix included, are ``pbtnas.tasks.commands.classify_test_scores``."""
    from pbtnas.tasks.commands import classify_test_scores

    return float(classify_test_scores(Path(run_dir), uid, plugins=plugins)["test_accuracy"])
