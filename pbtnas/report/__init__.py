"""Reports of finished (or running) searches: plots, tables and statistics read from run directories, the
experiment matrix runner, and TensorBoard logging. Never re-trains; see docs/report.md.

Names load on first use: reading a run (`load_run`) needs neither scipy nor matplotlib, which `build_report` does.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["RunData", "RunError", "build_report", "load_run"]

_HOMES = {"RunData": "pbtnas.report.load", "RunError": "pbtnas.report.load", "load_run": "pbtnas.report.load",
          "build_report": "pbtnas.report.build"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'pbtnas.report' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
