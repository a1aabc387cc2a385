"""Reports of finished (or running) searches: plots, tables and statistics read from run directories, the
experiment matrix runner, and TensorBoard logging. Never re-trains; see docs/report.md."""

from pbtnas.report.build import build_report
from pbtnas.report.load import RunData, RunError, load_run

__all__ = ["RunData", "RunError", "build_report", "load_run"]
