"""Plugin modules (``--plugin``, ``plugins = [...]``) of a run: the search records them in ``RUN/config.json``; what
reads the run again (``search --resume``, ``evaluate``, ``soup``, ``pbtnas.load``) imports them only when the user
names them again, since a run directory is data and must not make pbtnas run code (docs/security.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pbtnas.errors import UserError

__all__ = ["PluginNotAllowed", "import_run_plugins", "recorded_plugins"]


class PluginNotAllowed(UserError, ValueError):
    """A run directory records plugin modules the caller did not name."""


def recorded_plugins(run_dir: Path) -> list[str]:
    """The plugin modules ``RUN/config.json`` records (none for a run without config.json or plugins)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return []
    try:
        plugins = json.loads(path.read_bytes()).get("plugins", [])
    except (OSError, ValueError, AttributeError) as err:
        raise PluginNotAllowed(f"{path} is not a readable configuration: {err}") from None
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise PluginNotAllowed(f"{path}: plugins must be a list of module names, got {plugins!r}")
    return plugins


def import_run_plugins(run_dir: Path, allowed: Sequence[str] | None) -> None:
    """Import the plugins ``run_dir`` records that the caller names in ``allowed``; a recorded module that is not
    named (and that this program has not imported itself) is refused with the option that would allow it."""
    recorded = recorded_plugins(run_dir)
    named = set(allowed or ())
    missing = [m for m in recorded if m not in named and m not in sys.modules]
    if missing:
        raise PluginNotAllowed(
            f"{run_dir} was searched with the plugin module(s) {', '.join(missing)}, which a run directory cannot "
            f"import by itself; pass {' '.join('--plugin ' + m for m in missing)} (in Python: plugins="
            f"{missing!r}) to import them"
        )
    from pbtnas.compiler.commands import load_plugins

    load_plugins([m for m in recorded if m in named])
