"""A plugin for the classify tests: the op `scaled_by(factor)`. The Ray workers of the test session import it too
(tests/conftest.py puts tests/classify on their PYTHONPATH)."""

from torch import nn

from pbtnas.layers import ArgSpec, OpSpec, register_op


class Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


register_op(OpSpec(
    "scaled_by", (ArgSpec("factor", "float", 1.0),),
    shape=lambda s, a: tuple(s),
    param_dims=lambda s, a: [],
    build=lambda s, a: Scale(a["factor"]),
    doc="x times a constant factor (a test plugin)"))
