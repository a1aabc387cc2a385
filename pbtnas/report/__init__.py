"""Reports of finished (or running) searches: plots, tables and statistics read from run directories, the
experiment matrix runner, and TensorBoard logging. Never re-trains; see docs/report.md.

Names load on first use: reading a run (`load_run`) needs neither scipy nor matplotlib, which `build_report` does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunData", "RunError", "build_report", "load_run"]


def __getattr__(name: str) -> Any:
    # plain import statements, not importlib: dynamic imports are kept to the plug-in points (docs/security.md)
    if name == "build_report":
        from pbtnas.report.build import build_report

        return build_report
    if name in ("RunData", "RunError", "load_run"):
        from pbtnas.report import load

        return getattr(load, name)
    raise AttributeError(f"module 'pbtnas.report' has no attribute {name!r}")
