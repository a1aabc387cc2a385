"""Sequence ops: 1-d signals `[C, L]` and tokens `[T, D]` (shapes exclude the batch dimension, as everywhere).

Registered into the one op table of `pbtnas.layers.ops` when the package loads; like that table, this module is
torch-free (the modules come from `pbtnas.layers.modules` when a network is built).

Integer inputs: a network input is declared by its shape only, so token ids reach the network as the numbers the
task passes. `embedding` is the op that reads them as ids: an integer tensor is used as it is, a floating-point one
must hold whole numbers (the module checks, instead of truncating 2.7 to 2), and every id must be below `vocab`.
"""

from __future__ import annotations

from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, as_dim, shape_str
from pbtnas.layers.ops import (_BIAS, ArgSpec, OpSpec, Shape, ShapeError, _bool, _check_groups, _check_pool_pad,
                               _conv_out, _M, _nn, _no_params, _positive, _rank, check_divides, register_op)

TOKENS = "[T, D]"
TOKENS_HINT = ("tokens come from `patch_embed` (an image), `embedding` (ids) or `transpose` of a signal [C, L] "
               "(its L positions become tokens of C features)")


def _heads_divide(heads: Dim | int, width: Dim) -> None:
    """Every option of `heads` must divide the width D at every option of the genes D reads (a width gene)."""
    h = as_dim(heads)
    if any(s.startswith("?") for s in width.symbols):
        return  # a placeholder for a size lost to an error reported upstream: nothing to prove or blame here
    if width.has_shape_vars:
        if not h.is_const:
            raise ShapeError(f"attention {_arg_text('heads', h)} from a gene over the width {width}, which is not "
                             "known here: the division cannot be proven for every width",
                             "give the width as a constant, a block parameter or a dimension gene")
        width.mod(h)  # records the obligation: checked when the shape variable gets its size
        return
    check_divides(h, width, f"attention {_arg_text('heads', h)} does not divide the width D = {width}",
                  "the width D must be divisible by every option of `heads` (a head is D / heads wide)")


# ---- shape rules ------------------------------------------------------------------------------------------------

def _conv1d_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 2, "conv1d")
    c, length = shape
    _check_groups("conv1d", a["groups"], c, "input")
    out = as_dim(a["out"])
    _check_groups("conv1d", a["groups"], out, "output")
    _check_length(length, a, "conv1d")
    size = _conv_out(length, a["k"], a["stride"], a["pad"], a["dilation"])
    _positive(size, "conv1d output length")
    return (out, size)


def _check_length(length: Dim, a: dict, what: str) -> None:
    """A kernel that spans more positions than the padded signal leaves no output position (the output length
    (padded - span) // stride + 1 is positive exactly when span <= padded): say so at the op, with both sizes."""
    span = as_dim(a.get("dilation", 1)) * (as_dim(a["k"]) - 1) + 1
    padded = length + 2 * as_dim(a["pad"])
    room = padded - span
    if room.has_shape_vars:
        return
    for point, value in dims.points(room):
        if value < 0:
            at = f" when {dims.describe_point(point)}" if point else ""
            raise ShapeError(f"{what} kernel {_arg_text('k', a['k'])} is longer than the signal{at}: it spans "
                             f"{span.at(point)} positions of {padded.at(point)} (length {length}, pad "
                             f"{as_dim(a['pad'])} on each side)",
                             "use a smaller kernel or more padding, or downsample less before it")


def _arg_text(name: str, value: Dim | int) -> str:
    """`k=5` for a constant argument, `` `k` `` for the gene of that name, `k=2*e` for an expression."""
    text = str(as_dim(value))
    return f"`{name}`" if text == name else f"{name}={text}"


def _pool1d_shape(what: str):
    def rule(shape: Shape, a: dict) -> Shape:
        _rank(shape, 2, what)
        stride = a["k"] if isinstance(a["stride"], int) and a["stride"] == 0 else a["stride"]  # 0: the kernel size
        _check_pool_pad(a, what)
        _check_length(shape[1], a, what)
        size = _conv_out(shape[1], a["k"], stride, a["pad"], 1)
        _positive(size, f"{what} output length")
        return (shape[0], size)

    return rule


def _batchnorm1d_shape(shape: Shape, a: dict) -> Shape:
    if len(shape) not in (1, 2):  # BatchNorm1d: statistics per channel of [C, L], or per feature of [F]
        raise ShapeError(f"batchnorm1d needs a rank-1 [F] or rank-2 [C, L] input, got {shape_str(shape)}",
                         "use `batchnorm` for images [C, H, W]" if len(shape) == 3 else None)
    return shape


def _transpose_shape(shape: Shape, a: dict) -> Shape:
    if len(shape) < 2:
        raise ShapeError(f"transpose swaps the last two dimensions and needs at least two, got {shape_str(shape)}")
    return (*shape[:-2], shape[-1], shape[-2])


def _token_pool_shape(what: str):
    def rule(shape: Shape, a: dict) -> Shape:
        _rank(shape, 2, what, TOKENS, TOKENS_HINT)
        return (shape[1],)

    return rule


def _attention_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 2, "attention", TOKENS, TOKENS_HINT)
    _heads_divide(a["heads"], shape[1])
    return shape


def _patch_embed_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 3, "patch_embed", hint="patches are cut from an image; a signal [C, L] becomes tokens with "
                                        "`conv1d(out, k=p, stride=p) >> transpose`")
    patch = as_dim(a["patch"])
    tokens = Dim.const(1)
    for side, size in zip(("height", "width"), shape[1:]):
        if not size.has_shape_vars:
            check_divides(patch, size, f"patch_embed {_arg_text('patch', patch)} does not divide the image {side} {size}",
                          "the patches must tile the image exactly: choose a patch size that divides it")
        tokens = tokens * size.floordiv(patch)  # over a shape variable: an obligation checked at its size
    return (tokens, as_dim(a["out"]))


def _pos_embed_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 2, "pos_embed", TOKENS, TOKENS_HINT)
    return shape


def _cls_token_shape(shape: Shape, a: dict) -> Shape:
    _rank(shape, 2, "cls_token", TOKENS, TOKENS_HINT)
    return (shape[0] + 1, shape[1])


def _embedding_shape(shape: Shape, a: dict) -> Shape:
    vocab = as_dim(a["vocab"])
    if vocab.is_const and vocab.value < 1:
        raise ShapeError(f"embedding needs a vocabulary of at least 1 id, got {vocab}")
    return (*shape, as_dim(a["out"]))


# ---- parameter dims ---------------------------------------------------------------------------------------------

def _conv1d_weights(s: Shape, a: dict) -> list[Dim]:
    return [s[0], as_dim(a["out"]), as_dim(a["k"]), as_dim(a["groups"])]


def _last(s: Shape, a: dict) -> list[Dim]:
    return [s[-1]]


# ---- builders ---------------------------------------------------------------------------------------------------

def _build_conv1d(s, a):
    return _nn().Conv1d(s[0], a["out"], a["k"], a["stride"], a["pad"], a["dilation"], a["groups"], _bool(a["bias"]))


_K = ArgSpec("k", "int", 2)
_STRIDE0 = ArgSpec("stride", "int", 0)
_PAD = ArgSpec("pad", "int", 0)

SEQUENCE_OPS = (
    OpSpec("conv1d", (ArgSpec("out", "dim"), ArgSpec("k", "int", 1), ArgSpec("stride", "int", 1), _PAD,
                      ArgSpec("dilation", "int", 1), ArgSpec("groups", "int", 1), _BIAS),
           _conv1d_shape, _conv1d_weights, _build_conv1d, "conv",
           "1-d convolution [C, L] -> [out, L']; L' = (L + 2 pad - dilation (k - 1) - 1) // stride + 1"),
    OpSpec("max_pool1d", (_K, _STRIDE0, _PAD), _pool1d_shape("max_pool1d"), _no_params,
           lambda s, a: _nn().MaxPool1d(a["k"], a["stride"] or a["k"], a["pad"]),
           doc="1-d max pool [C, L] -> [C, L']; `stride` defaults to `k`"),
    OpSpec("avg_pool1d", (_K, _STRIDE0, _PAD, ArgSpec("include_pad", "bool", "on")), _pool1d_shape("avg_pool1d"),
           _no_params,
           lambda s, a: _nn().AvgPool1d(a["k"], a["stride"] or a["k"], a["pad"],
                                        count_include_pad=_bool(a["include_pad"])),
           doc="1-d average pool [C, L] -> [C, L']; `stride` defaults to `k`"),
    OpSpec("batchnorm1d", (ArgSpec("affine", "bool", "on"),), _batchnorm1d_shape, lambda s, a: [s[0]],
           lambda s, a: _nn().BatchNorm1d(s[0], affine=_bool(a["affine"])), "batchnorm",
           "batch normalisation over the channels of [C, L] (or the features of [F])"),
    OpSpec("transpose", (), _transpose_shape, _no_params, lambda s, a: _M().Transpose(),
           doc="swap the last two dimensions: [C, L] -> [L, C] (a signal's positions become tokens)"),
    OpSpec("mean_tokens", (), _token_pool_shape("mean_tokens"), _no_params, lambda s, a: _M().TokenPool("mean"),
           doc="mean over the tokens [T, D] -> [D]"),
    OpSpec("first_token", (), _token_pool_shape("first_token"), _no_params, lambda s, a: _M().TokenPool("first"),
           doc="the first token [T, D] -> [D] (the class token after `cls_token`)"),
    OpSpec("attention", (ArgSpec("heads", "int"), ArgSpec("dropout", "float", 0.0), _BIAS), _attention_shape,
           _last, lambda s, a: _M().SelfAttention(s[-1], a["heads"], a["dropout"], _bool(a["bias"])),
           doc="multi-head self-attention [T, D] -> [T, D]; `heads` may be a gene, and must divide D for every "
               "option (the weights do not depend on it)"),
    OpSpec("patch_embed", (ArgSpec("out", "dim"), ArgSpec("patch", "int")), _patch_embed_shape,
           lambda s, a: [s[0], as_dim(a["out"]), as_dim(a["patch"])],
           lambda s, a: _M().PatchEmbed(s[0], a["out"], a["patch"]), "conv",
           "image [C, H, W] -> tokens [(H / patch) (W / patch), out]: a patch x patch stride-patch conv, row by row"),
    OpSpec("pos_embed", (), _pos_embed_shape, lambda s, a: list(s), lambda s, a: _M().PositionalEmbedding(*s),
           doc="adds a learned position embedding [T, D] (initialised N(0, 0.02), truncated at 2 sigma)"),
    OpSpec("cls_token", (), _cls_token_shape, _last, lambda s, a: _M().ClassToken(s[-1]),
           doc="prepends a learned class token [T, D] -> [T + 1, D]"),
    OpSpec("embedding", (ArgSpec("vocab", "dim"), ArgSpec("out", "dim")), _embedding_shape,
           lambda s, a: [as_dim(a["vocab"]), as_dim(a["out"])],
           lambda s, a: _M().TokenEmbedding(a["vocab"], a["out"]),
           doc="integer ids [T] -> [T, out] (any shape gets a last dimension of `out`); ids are whole numbers in "
               "[0, vocab), of an integer or a floating-point input"),
)

for _spec in SEQUENCE_OPS:
    register_op(_spec)
