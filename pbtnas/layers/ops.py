"""The op library: every layer a `.nas` file can name, with its argument schema, its shape rule and its module.

Shapes exclude the batch dimension. A shape rule works on symbolic `Dim`s, so the compiler can prove
interchangeability for every value of `H`, `W` or a dimension gene. New ops are added from Python with
`register_op` (the CLI's `--plugin` imports a module that calls it); a `.nas` file can only name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, as_dim, shape_str

if TYPE_CHECKING:
    from torch import nn

REQUIRED = object()
Shape = tuple[Dim, ...]


class ShapeError(Exception):
    """An op cannot take the given input shape; `hint` suggests the fix."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class ArgSpec:
    name: str
    kind: str  # dim | int | float | choice | bool
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpSpec:
    name: str
    args: tuple[ArgSpec, ...]
    shape: Callable[[Shape, dict], Shape]
    # The input dims and args that size the op's parameters; [] means the op owns no weights.
    param_dims: Callable[[Shape, dict], list[Dim]]
    # Builds the module from the concrete input shape (spatial dims may be None when they vary) and concrete args.
    build: Callable[[tuple[int | None, ...], dict], nn.Module]
    init_kind: str | None = None
    doc: str = ""
    varargs: str | None = None  # name of an argument that collects extra positional dims (reshape)
    aliases: tuple[str, ...] = field(default=())


_REGISTRY: dict[str, OpSpec] = {}


def register_op(spec: OpSpec) -> OpSpec:
    """Add an op to the library. Its name must not clash with an existing op or a language keyword."""
    if spec.name in _REGISTRY or spec.name in RESERVED:
        raise ValueError(f"op `{spec.name}` is already defined")
    _REGISTRY[spec.name] = spec
    return spec


def get_op(name: str) -> OpSpec | None:
    return _REGISTRY.get(name)


def op_names() -> list[str]:
    return sorted(_REGISTRY)


# Names the language itself gives meaning to (combinators and tensor functions), never ops.
RESERVED = frozenset({"none", "identity", "residual", "sum", "cat"})
BOOL_TRUE = frozenset({"on", "true", "yes"})
BOOL_FALSE = frozenset({"off", "false", "no"})


# ---- shape helpers --------------------------------------------------------------------------------------------

_RANK_FORMS = {1: "[F]", 2: "[C, L]", 3: "[C, H, W]"}
_RANK_HINTS = {1: "add `flatten` or `reshape(...)` before it",
               2: "`transpose` swaps the last two dimensions; `reshape(...)` makes a vector a signal [1, L]"}


def _rank(shape: Shape, n: int, what: str, form: str | None = None, hint: str | None = None) -> None:
    """`form` names the dimensions when rank n has another reading than _RANK_FORMS's (tokens [T, D]); `hint`
    replaces the rank's usual one."""
    if len(shape) != n:
        raise ShapeError(f"{what} needs a rank-{n} input {form or _RANK_FORMS[n]}, got {shape_str(shape)}",
                         hint or _RANK_HINTS.get(n))


def _positive(d: Dim, what: str) -> None:
    if d.is_const and d.value <= 0:
        raise ShapeError(f"{what} would be {d}, which is not positive")


def _conv_out(size: Dim, k: int, s: int, p: int, d: int) -> Dim:
    return (size + 2 * p - d * (k - 1) - 1).floordiv(s) + 1


def check_divides(divisor: "Dim | int", size: Dim, message: str, hint: str | None) -> None:
    """`divisor` must divide `size` at every option of the genes both read (`groups=C * e` over `C * e` channels is
    exact; `groups=4` over `6 * e` channels fails for an odd `e`); `message` says what does not divide what. Sizes
    with a shape variable are sized later and not checked here."""
    g = as_dim(divisor)
    if g.is_const and g.value == 1:
        return
    if size.has_shape_vars or g.has_shape_vars:
        return
    if size.is_const and g.is_const:
        if size.value % g.value:
            raise ShapeError(message, hint)
        return
    for point, value in dims.points(size.mod(g)):
        if value != 0:
            raise ShapeError(f"{message} when {dims.describe_point(point)} ({size.at(point)} by {g.at(point)})", hint)


def _check_groups(what: str, groups: "Dim | int", channels: Dim, side: str) -> None:
    check_divides(groups, channels, f"{what} groups={as_dim(groups)} does not divide the {channels} {side} channels",
                  "groups must divide both the input and the output channels for every option")


def _conv_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "conv")
    c, h, w = shape
    _check_groups("conv", a["groups"], c, "input")
    _check_groups("conv", a["groups"], as_dim(a["out"]), "output")
    out = tuple(_conv_out(x, a["k"], a["stride"], a["pad"], a["dilation"]) for x in (h, w))
    for x in out:
        _positive(x, "conv output size")
    return (as_dim(a["out"]), *out)


def _conv_weights(s: Shape, a: dict) -> list[Dim]:
    # The kernel and the groups size the weight ([out, in / groups, k, k]): a kernel gene shapes it as a width does.
    return [s[0], as_dim(a["out"]), as_dim(a["k"]), as_dim(a["groups"])]


def _convt_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "conv_transpose")
    c, h, w = shape
    _check_groups("conv_transpose", a["groups"], c, "input")
    _check_groups("conv_transpose", a["groups"], as_dim(a["out"]), "output")
    out = tuple((x - 1) * a["stride"] - 2 * a["pad"] + a["dilation"] * (a["k"] - 1) + a["output_pad"] + 1
                for x in (h, w))
    return (as_dim(a["out"]), *out)


def _check_pool_pad(a: dict, what: str) -> None:
    """torch pads a pool by at most half its kernel (2 pad <= k), and refuses more only when the network runs."""
    excess = 2 * as_dim(a["pad"]) - as_dim(a["k"])
    for point, value in dims.points(excess):
        if value > 0:
            at = f" when {dims.describe_point(point)}" if point else ""
            raise ShapeError(f"{what} pad={as_dim(a['pad']).at(point)} is more than half the kernel "
                             f"k={as_dim(a['k']).at(point)}{at}", "a pool pads by at most k // 2 on each side")


def _pool_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "pool")
    _check_pool_pad(a, "pool")
    stride = a["k"] if isinstance(a["stride"], int) and a["stride"] == 0 else a["stride"]  # 0: the kernel size
    return (shape[0], *(_conv_out(x, a["k"], stride, a["pad"], 1) for x in shape[1:]))


def _same(shape: Shape, a: dict) -> Shape:
    return shape


def _batchnorm_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "batchnorm")  # BatchNorm2d: statistics per channel of [C, H, W]
    return shape


def _layernorm_shape(shape: Shape, a: dict) -> Shape:
    if not shape:
        raise ShapeError("layernorm needs an input with at least one dimension, got a scalar []")
    return shape


def _factorized_reduce_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "factorized_reduce")
    out = as_dim(a["out"])
    if out.is_const and out.value < 2:
        raise ShapeError(f"factorized_reduce needs at least 2 output channels (two halves), got {out}")
    # the same spatial rule as conv(k=1, stride=2), so it is interchangeable with a stride-2 conv or pool
    return (out, *(_conv_out(x, 1, 2, 0, 1) for x in shape[1:]))


def _linear_shape(shape: Shape, a: dict) -> Shape:
    # As torch's Linear: on the last dimension, the others kept ([F] -> [out], tokens [T, D] -> [T, out])
    if not shape:
        raise ShapeError("linear needs an input with at least one dimension, got a scalar []")
    return (*shape[:-1], as_dim(a["out"]))


def _flatten_shape(shape: Shape, a: dict) -> Shape:
    total = Dim.const(1)
    for d in shape:
        total = total * d
    return (total,)


def _reshape_shape(shape: Shape, a: dict) -> Shape:
    before, after = Dim.const(1), Dim.const(1)
    for d in shape:
        before = before * d
    for d in a["dims"]:
        after = after * as_dim(d)
    if before != after:
        raise ShapeError(f"reshape to [{', '.join(map(str, a['dims']))}] needs {after} elements, the input "
                         f"{shape_str(shape)} has {before}")
    return tuple(as_dim(d) for d in a["dims"])


def _slice_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 1, "slice")
    start, end = as_dim(a["start"]), as_dim(a["end"])
    size = end - start
    _positive(size, "slice length")
    if (shape[0] - end).is_const and (shape[0] - end).value < 0:
        raise ShapeError(f"slice end {end} is past the input size {shape[0]}")
    return (size,)


def _upsample_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "upsample")
    s = as_dim(a["scale"])
    return (shape[0], shape[1] * s, shape[2] * s)


def _resize_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "resize")
    return (shape[0], as_dim(a["h"]), as_dim(a["w"]))


def _global_pool_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "global pool")
    return (shape[0],)


def _no_params(shape: Shape, a: dict) -> list[Dim]:
    return []


def _req(*names: str) -> tuple[ArgSpec, ...]:
    return tuple(ArgSpec(n, "dim") for n in names)


def _bool(x: Any) -> bool:
    return x is True or (isinstance(x, str) and x in BOOL_TRUE)


# ---- module builders ------------------------------------------------------------------------------------------
# The table above and below is torch-free: `pbtnas check`, `compile` and `ops` read names, arguments and shape rules
# only, and torch is imported the first time a network is built (a builder runs).

def _nn() -> ModuleType:
    from torch import nn

    return nn


def _M() -> ModuleType:
    from pbtnas.layers import modules

    return modules


# Activations by name: the torch.nn class and its arguments (modules.ACTIVATIONS is built from this table).
ACTIVATION_CLASSES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "id": ("Identity", ()), "identity": ("Identity", ()), "relu": ("ReLU", ()), "tanh": ("Tanh", ()),
    "sigmoid": ("Sigmoid", ()), "swish": ("SiLU", ()), "silu": ("SiLU", ()), "gelu": ("GELU", ()),
    "elu": ("ELU", ()), "leaky_relu": ("LeakyReLU", (0.2,)),
    # MobileNetV3's piecewise-linear forms: x * relu6(x + 3) / 6 and relu6(x + 3) / 6
    "hardswish": ("Hardswish", ()), "hardsigmoid": ("Hardsigmoid", ()),
}
SN_STYLES = ("hook", "parametrization")


def _activation(kind: str) -> nn.Module:
    return _M().ACTIVATIONS[kind]()


def _build_conv(shape, a):
    kw = dict(kernel_size=a["k"], stride=a["stride"], padding=a["pad"], dilation=a["dilation"], groups=a["groups"],
              bias=_bool(a["bias"]))
    if a["sn"] is None:
        return _nn().Conv2d(shape[0], a["out"], **kw)
    return _M().SNConv2d(shape[0], a["out"], sn=_bool(a["sn"]), sn_style=a["sn_style"], **kw)


def _build_linear(shape, a):
    if a["sn"] is None:
        return _nn().Linear(shape[-1], a["out"], bias=_bool(a["bias"]))
    return _M().SNLinear(shape[-1], a["out"], bias=_bool(a["bias"]), sn=_bool(a["sn"]), sn_style=a["sn_style"])


_SN = ArgSpec("sn", "bool", None)
# Which of torch's two spectral norms to reproduce (modules.SpectralNormMixin): the GAN reference code uses the hook
# one, the RL reference code the parametrization one (another power-iteration order, 15 warm-up iterations).
_SN_STYLE = ArgSpec("sn_style", "choice", "hook", SN_STYLES)
_BIAS = ArgSpec("bias", "bool", "on")
_MODES = ("nearest", "bilinear")

for _spec in [
    OpSpec("conv", (ArgSpec("out", "dim"), ArgSpec("k", "int", 1), ArgSpec("stride", "int", 1),
                    ArgSpec("pad", "int", 0), ArgSpec("dilation", "int", 1), ArgSpec("groups", "int", 1), _BIAS, _SN,
                    _SN_STYLE),
           _conv_shape, _conv_weights, _build_conv, "conv",
           "2-d convolution [C,H,W] -> [out, H', W']; `sn=on` (or a gene) adds spectral norm (`sn_style`: "
           "`hook` or `parametrization`, the order of torch's two implementations)"),
    OpSpec("conv_transpose", (ArgSpec("out", "dim"), ArgSpec("k", "int", 1), ArgSpec("stride", "int", 1),
                              ArgSpec("pad", "int", 0), ArgSpec("output_pad", "int", 0),
                              ArgSpec("dilation", "int", 1), ArgSpec("groups", "int", 1), _BIAS),
           _convt_shape, _conv_weights,
           lambda s, a: _nn().ConvTranspose2d(s[0], a["out"], a["k"], a["stride"], a["pad"], a["output_pad"],
                                           a["groups"], _bool(a["bias"]), a["dilation"]),
           "conv_transpose", "transposed 2-d convolution"),
    OpSpec("linear", (ArgSpec("out", "dim"), _BIAS, _SN, _SN_STYLE), _linear_shape,
           lambda s, a: [s[-1], as_dim(a["out"])], _build_linear, "linear",
           "fully connected on the last dimension: [F] -> [out], [T, D] -> [T, out]"),
    # affine=off: no weight and bias (DARTS's search cells); the running statistics are state all the same, so the
    # op keeps its channel count as param_dims either way and its state keys stay owned.
    OpSpec("batchnorm", (ArgSpec("affine", "bool", "on"),), _batchnorm_shape, lambda s, a: [s[0]],
           lambda s, a: _nn().BatchNorm2d(s[0], affine=_bool(a["affine"])), "batchnorm",
           "batch normalisation over channels of [C, H, W]; `affine=off` drops the learned scale and shift"),
    OpSpec("layernorm", (), _layernorm_shape, lambda s, a: [s[-1]], lambda s, a: _nn().LayerNorm(s[-1]), "layernorm",
           "layer normalisation over the last dimension"),
    OpSpec("activation", (ArgSpec("kind", "choice", REQUIRED, tuple(ACTIVATION_CLASSES)),), _same, _no_params,
           lambda s, a: _activation(a["kind"]), doc="activation chosen by name (often by a gene)"),
    OpSpec("dropout", (ArgSpec("p", "float", 0.0),), _same, _no_params, lambda s, a: _nn().Dropout(a["p"])),
    OpSpec("avg_pool", (ArgSpec("k", "int", 2), ArgSpec("stride", "int", 0), ArgSpec("pad", "int", 0),
                        ArgSpec("include_pad", "bool", "on")), _pool_shape, _no_params,
           lambda s, a: _nn().AvgPool2d(a["k"], a["stride"] or a["k"], a["pad"],
                                     count_include_pad=_bool(a["include_pad"])),
           doc="average pool; `include_pad=off` averages over the real pixels only at the border (DARTS, "
               "NAS-Bench-201)"),
    OpSpec("zero", (), _same, _no_params, lambda s, a: _M().Zero(),
           doc="zeros of the input's shape (NAS-Bench-201's `none`); unlike `none` it is present and summed"),
    OpSpec("factorized_reduce", (ArgSpec("out", "dim"), ArgSpec("affine", "bool", "on")), _factorized_reduce_shape,
           lambda s, a: [s[0], as_dim(a["out"])],
           lambda s, a: _M().FactorizedReduce(s[0], a["out"], _bool(a["affine"])), "conv",
           "DARTS's reduction to `out` channels at half the size (rounded up): relu, two stride-2 1x1 convs "
           "(the second on the input shifted one pixel) concatenated, batchnorm"),
    OpSpec("max_pool", (ArgSpec("k", "int", 2), ArgSpec("stride", "int", 0), ArgSpec("pad", "int", 0)), _pool_shape,
           _no_params, lambda s, a: _nn().MaxPool2d(a["k"], a["stride"] or a["k"], a["pad"])),
    OpSpec("upsample", (ArgSpec("scale", "dim"), ArgSpec("mode", "choice", "nearest", _MODES)), _upsample_shape,
           _no_params, lambda s, a: _M().Upsample(a["scale"], a["mode"]), doc="upsample by an integer factor"),
    OpSpec("resize", (ArgSpec("h", "dim"), ArgSpec("w", "dim"), ArgSpec("mode", "choice", "nearest", _MODES)),
           _resize_shape, _no_params, lambda s, a: _M().Resize((a["h"], a["w"]), a["mode"])),
    OpSpec("flatten", (), _flatten_shape, _no_params, lambda s, a: _nn().Flatten()),
    OpSpec("reshape", (), _reshape_shape, _no_params, lambda s, a: _M().Reshape(tuple(a["dims"])), varargs="dims"),
    OpSpec("slice", (ArgSpec("start", "dim"), ArgSpec("end", "dim")), _slice_shape, _no_params,
           lambda s, a: _M().Slice(a["start"], a["end"]), doc="features [start, end) of a vector"),
    OpSpec("scale", (ArgSpec("mul", "float", 1.0), ArgSpec("add", "float", 0.0)), _same, _no_params,
           lambda s, a: _M().Affine(a["mul"], a["add"]), doc="x * mul + add"),
    OpSpec("global_sum_pool", (), _global_pool_shape, _no_params, lambda s, a: _M().GlobalPool("sum")),
    OpSpec("global_avg_pool", (), _global_pool_shape, _no_params, lambda s, a: _M().GlobalPool("mean")),
]:
    register_op(_spec)

for _name in ("relu", "tanh", "sigmoid", "swish", "gelu", "elu", "leaky_relu", "hardswish", "hardsigmoid"):
    register_op(OpSpec(_name, (), _same, _no_params, (lambda n: lambda s, a: _activation(n))(_name),
                       doc=f"{_name} activation"))

INIT_KINDS = ("conv", "conv_transpose", "linear", "batchnorm", "layernorm")
