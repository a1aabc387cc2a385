"""``pbtnas.load(run_dir)``: the best network of a finished run and its genome, without the task or retraining."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from pbtnas.engine.rundir import CHECKSUMS_NAME, load_state, verify_folder
from pbtnas.engine.runner import load_space

__all__ = ["LoadError", "load", "load_space_of_run"]


class LoadError(ValueError):
    pass


def load_space_of_run(run_dir: Path) -> Any:
    path = Path(run_dir) / "space.json"
    if not path.exists():
        raise LoadError(f"{run_dir} is not a pbtnas run directory (no space.json)")
    d = json.loads(path.read_text())
    return load_space(d["loader"], d["artifact"])


def load(run_dir: str | Path, which: str = "best") -> tuple[nn.Module, Any]:
    """The module (eval mode, weights as the task uses them, e.g. EMA in place) and its genome.

    ``which`` is ``"best"`` (the best member of the final population), ``"best_ever"`` (the best fitness seen at
    any step) or a soup directory name such as ``"soup"``.
    """
    run_dir = Path(run_dir)
    folder = run_dir / which
    if not (folder / "model.pt").exists():
        raise LoadError(f"{folder} has no model.pt (has the run finished?)")
    if (folder / CHECKSUMS_NAME).exists():
        problems = verify_folder(folder)
        if problems:
            raise LoadError(
                f"{folder} is damaged: {'; '.join(problems)}\n"
                f"hint: `pbtnas search --resume {run_dir}` writes best/ again; best_ever/ may still be intact"
            )
    else:  # written by a pbtnas without checksums
        warnings.warn(f"{folder} has no {CHECKSUMS_NAME}: loading it unverified", stacklevel=2)
    space = load_space_of_run(run_dir)
    genome = space.genome_from_json(json.loads((folder / "genome.json").read_text()))
    module = space.build(genome, seed=0)
    module.load_state_dict(load_state(folder / "model.pt"), strict=True)
    module.eval()
    return module, genome
