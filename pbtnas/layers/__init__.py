"""The op library: each op with its shape rule (ops.py, torch-free) and its torch module (modules.py)."""

from __future__ import annotations

from typing import Any

from pbtnas.layers.ops import ArgSpec, OpSpec, ShapeError, get_op, op_names, register_op
from pbtnas.layers import sequence  # noqa: F401  registers the sequence ops into the same table

# pbtnas's own ops, before any plugin can add to the table (a plugin imports this package first): what the editor
# files name, whatever plugins the generating process happened to import
BUILTIN_OPS: frozenset[str] = frozenset(op_names())

__all__ = ["BUILTIN_OPS", "ArgSpec", "OpSpec", "ShapeError", "get_op", "op_names", "register_op", "renormalize_state"]


def __getattr__(name: str) -> Any:
    # The torch modules load on first use, so the compiler (which imports this package for the table) stays torch-free
    if name == "renormalize_state":
        from pbtnas.layers.modules import renormalize_state

        return renormalize_state
    raise AttributeError(f"module 'pbtnas.layers' has no attribute {name!r}")
