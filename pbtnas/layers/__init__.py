"""The op library: each op with its shape rule and its torch module."""

from pbtnas.layers.modules import renormalize_state
from pbtnas.layers.ops import ArgSpec, OpSpec, ShapeError, get_op, op_names, register_op

__all__ = ["ArgSpec", "OpSpec", "ShapeError", "get_op", "op_names", "register_op", "renormalize_state"]
