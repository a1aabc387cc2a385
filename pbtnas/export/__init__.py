"""Getting a searched network out of a run directory: plain weights (safetensors), ONNX, a `torch.export` program,
and a diagram of the architecture. Reads the run directory only (GUIDE: the one interface after a search)."""

from pbtnas.export.bundle import FORMATS, ExportError, ExportResult, export_run, register_export_support

__all__ = ["FORMATS", "ExportError", "ExportResult", "export_run", "register_export_support"]
