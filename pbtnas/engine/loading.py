"""``pbtnas.load(run_dir)``: the best network of a finished run and its genome, without the task or retraining."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from pbtnas.engine.names import UnsafeName, safe_name
from pbtnas.engine.plugins import import_run_plugins
from pbtnas.engine.rundir import CHECKSUMS_NAME, CheckpointError, load_state, verify_folder
from pbtnas.engine.runner import UntrustedLoader, load_space
from pbtnas.errors import UserError

__all__ = ["LoadError", "load", "load_space_of_run"]


class LoadError(UserError, ValueError):
    pass


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as err:  # ValueError: JSONDecodeError and UnicodeDecodeError
        raise LoadError(f"{path} is not readable JSON: {err}") from None


def load_space_of_run(run_dir: Path, plugins: Sequence[str] | None = None) -> Any:
    """The compiled space of a run, after importing the run's plugin modules that ``plugins`` allows."""
    import_run_plugins(Path(run_dir), plugins)
    path = Path(run_dir) / "space.json"
    if not path.is_file():
        raise LoadError(f"{run_dir} is not a pbtnas run directory (no space.json)")
    d = _read_json(path)
    if not isinstance(d, dict) or not isinstance(d.get("loader"), str) or not isinstance(d.get("artifact"), str):
        raise LoadError(f"{path} is not a compiled space (expected {{\"loader\": ..., \"artifact\": ...}})")
    try:
        return load_space(d["loader"], d["artifact"])
    except UntrustedLoader as err:
        raise LoadError(f"{path}: {err}") from None
    except (ValueError, KeyError, TypeError) as err:  # the artifact itself is malformed
        raise LoadError(f"{path}: the compiled space cannot be read: {type(err).__name__}: {err}") from None


def load(run_dir: str | Path, which: str = "best", plugins: Sequence[str] | None = None) -> tuple[nn.Module, Any]:
    """The module (eval mode, weights as the task uses them, e.g. EMA in place) and its genome.

    ``which`` is ``"best"`` (the best member of the final population), ``"best_ever"`` (the best fitness seen at
    any step) or a soup directory name such as ``"soup"``. ``plugins`` names the plugin modules of a run searched
    with ``--plugin`` (a run directory never imports them by itself). ``run_dir`` may also be a folder
    `pbtnas export` wrote (model.safetensors, genome.json, space.json); ``which`` is then not used.
    """
    run_dir = Path(run_dir)
    from pbtnas.export.bundle import WEIGHTS_NAME

    if (run_dir / WEIGHTS_NAME).is_file():
        return _load_export(run_dir)
    try:
        folder = run_dir / safe_name(which, "the saved network")
    except UnsafeName as err:
        raise LoadError(str(err)) from None
    if not (folder / "model.pt").is_file():
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
    space = load_space_of_run(run_dir, plugins)
    genome = _genome_of(space, folder)
    try:
        state = load_state(folder / "model.pt")
    except CheckpointError as err:
        raise LoadError(str(err)) from None
    return _built(space, genome, state, folder / "model.pt"), genome


def _genome_of(space: Any, folder: Path) -> Any:
    try:
        return space.genome_from_json(_read_json(folder / "genome.json"))
    except LoadError:
        raise
    except Exception as err:  # GenomeError of the space, or a genome.json of the wrong shape
        raise LoadError(f"{folder / 'genome.json'}: {err}") from None


def _built(space: Any, genome: Any, state: Any, source: Path) -> nn.Module:
    module = space.build(genome, seed=0)
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as err:  # tensors that do not fit this genome's network
        raise LoadError(f"{source} does not fit the network of its genome: {err}") from None
    module.eval()
    return module


def _load_export(folder: Path) -> tuple[nn.Module, Any]:
    from pbtnas.export.bundle import WEIGHTS_NAME, read_weights

    space = load_space_of_run(folder)
    genome = _genome_of(space, folder)
    try:
        state = read_weights(folder)
    except Exception as err:  # safetensors' own errors: a truncated or foreign file
        raise LoadError(f"{folder / WEIGHTS_NAME} is not readable safetensors: {err}") from None
    return _built(space, genome, state, folder / WEIGHTS_NAME), genome
