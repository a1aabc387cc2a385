"""pbtnas: neural architecture search spaces as .nas files, searched with PBT-NAS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["load"]

if TYPE_CHECKING:
    from pathlib import Path

    from torch import nn


def load(run_dir: str | Path, which: str = "best") -> tuple[nn.Module, Any]:
    """The best network of a finished search (eval mode, usable without retraining) and its genome.

    ``which``: "best" (best of the final population), "best_ever" (best fitness at any step) or a soup folder.
    """
    from pbtnas.engine.loading import load as _load  # lazy: `import pbtnas` stays cheap (no torch, no Ray)

    return _load(run_dir, which)
