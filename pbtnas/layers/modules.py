"""Torch modules behind the op library that torch does not provide as such."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pbtnas.layers.ops import ACTIVATION_CLASSES, SN_STYLES

# torch.nn.utils.parametrizations.spectral_norm runs 15 iterations when it is made, and registering it runs the
# parametrization once more (a training-mode forward: one more iteration) to check its output; the reference's
# switchable wrapper returns the weight untouched when off, so that check iterates only when SN is on.
SN_WARMUP_ITERATIONS = 15


class SpectralNormMixin:
    """Spectral norm whose parameter names do not depend on whether it is switched on.

    A gene can switch spectral norm on and off (the RL spaces), and mixing copies weights by key, so the keys must be
    the same either way: `weight`, `bias`, and buffers `sn_u`, `sn_v`. When off, the buffers are carried but unused.

    One power-iteration step per training forward, in one of torch's two orders (``style``):

    * ``hook`` (torch.nn.utils.spectral_norm, which the GAN reference code uses): v = W^T u, then u = W v, from
      random unit vectors;
    * ``parametrization`` (torch.nn.utils.parametrizations.spectral_norm, which the RL reference code uses):
      u = W v, then v = W^T u, and a warm-up when the layer is made (:meth:`warm_up_sn`; the builder calls it after
      the initialisation, so the vectors belong to the weights the layer starts with).
    """

    sn_enabled: bool
    sn_style: str

    def _init_sn(self, enabled: bool, style: str = "hook") -> None:
        if style not in SN_STYLES:
            raise ValueError(f"spectral-norm style must be one of {SN_STYLES}, got {style!r}")
        self.sn_enabled = enabled
        self.sn_style = style
        w = self.weight.detach().reshape(self.weight.shape[0], -1)
        u = F.normalize(torch.randn(w.shape[0]), dim=0, eps=1e-12)
        v = F.normalize(torch.randn(w.shape[1]), dim=0, eps=1e-12)
        self.register_buffer("sn_u", u)
        self.register_buffer("sn_v", v)

    @torch.no_grad()
    def _power_iteration(self, w: torch.Tensor, iterations: int) -> None:
        for _ in range(iterations):
            if self.sn_style == "parametrization":
                self.sn_u.copy_(F.normalize(w.mv(self.sn_v), dim=0, eps=1e-12))
                self.sn_v.copy_(F.normalize(w.t().mv(self.sn_u), dim=0, eps=1e-12))
            else:
                self.sn_v.copy_(F.normalize(w.t().mv(self.sn_u), dim=0, eps=1e-12))
                self.sn_u.copy_(F.normalize(w.mv(self.sn_v), dim=0, eps=1e-12))

    def warm_up_sn(self) -> None:
        """The parametrization style's start on the current weight: 16 iterations when SN is on, 15 when off (see
        SN_WARMUP_ITERATIONS). The hook style starts from the random vectors, so nothing happens."""
        if self.sn_style == "parametrization":
            iterations = SN_WARMUP_ITERATIONS + (1 if self.sn_enabled else 0)
            self._power_iteration(self.weight.detach().reshape(self.weight.shape[0], -1), iterations)

    def after_init(self) -> None:
        self.warm_up_sn()

    def normalized_weight(self) -> torch.Tensor:
        if not self.sn_enabled:
            return self.weight
        w = self.weight.reshape(self.weight.shape[0], -1)
        if self.training:
            self._power_iteration(w.detach(), 1)
        # Clones, as torch's spectral_norm does: the buffers are updated in place by the next training forward,
        # which must not invalidate the graph of this one (a discriminator sees real and fake batches in turn).
        sigma = torch.dot(self.sn_u.clone(), w.mv(self.sn_v.clone()))
        return self.weight / sigma


class SNConv2d(SpectralNormMixin, nn.Conv2d):
    def __init__(self, *args, sn: bool, sn_style: str = "hook", **kwargs):
        super().__init__(*args, **kwargs)
        self._init_sn(sn, sn_style)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.normalized_weight(), self.bias)


class SNLinear(SpectralNormMixin, nn.Linear):
    def __init__(self, *args, sn: bool, sn_style: str = "hook", **kwargs):
        super().__init__(*args, **kwargs)
        self._init_sn(sn, sn_style)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalized_weight(), self.bias)


def renormalize_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rescale every spectral-norm vector to unit length, in place, after arithmetic on a state dict.

    Shrink-perturb mixes `sn_u`/`sn_v` like any other tensor (0.4 donor + 0.1 fresh), which leaves them shorter than
    1; the first eval-mode forward after mixing would then divide by a wrong sigma. Renormalising restores the
    invariant the power iteration maintains.
    """
    for key, value in state.items():
        if key.endswith(".sn_u") or key.endswith(".sn_v"):
            state[key] = F.normalize(value.float(), dim=0, eps=1e-12).to(value.dtype)
    return state


class Upsample(nn.Module):
    def __init__(self, scale: int, mode: str):
        super().__init__()
        self.scale, self.mode = scale, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 1:
            return x
        if self.mode == "nearest":
            return F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode, align_corners=False)


class Resize(nn.Module):
    def __init__(self, size: tuple[int, int], mode: str):
        super().__init__()
        self.size, self.mode = size, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            return F.interpolate(x, size=self.size, mode="nearest")
        return F.interpolate(x, size=self.size, mode=self.mode, align_corners=False)


class Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class Slice(nn.Module):
    def __init__(self, start: int, end: int):
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., self.start:self.end]


class Affine(nn.Module):
    """x * mul + add with constants, e.g. pixels/255 - 0.5."""

    def __init__(self, mul: float, add: float):
        super().__init__()
        self.mul, self.add = mul, add

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mul + self.add


class GlobalPool(nn.Module):
    def __init__(self, reduce: str):
        super().__init__()
        self.reduce = reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=(2, 3)) if self.reduce == "sum" else x.mean(dim=(2, 3))


class Zero(nn.Module):
    """Zeros of the input's shape: NAS-Bench-201's `none` edge, which is summed like any other (the language's
    `none` leaves the edge out instead). `zeros_like`, not `x * 0`, so an inf or NaN input still gives zeros."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class FactorizedReduce(nn.Module):
    """DARTS's stride-2 reduction without a 3x3 kernel: ReLU, then two 1x1 stride-2 convolutions (no bias), the
    second on the input shifted by one pixel, their outputs concatenated on channels, then batch norm.

    The shifted copy is zero-padded at the far edge (as NAS-Bench-201's version is), so both halves have
    ceil(H/2) rows for every H; on even H, the only sizes DARTS accepts, that is exactly DARTS's op. An odd `out`
    is split out // 2 + (out - out // 2).
    """

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        half = c_out // 2
        self.conv_1 = nn.Conv2d(c_in, half, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - half, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))



def _activation_factory(cls_name: str, args: tuple) -> Callable[[], nn.Module]:
    cls = getattr(nn, cls_name)
    return lambda: cls(*args)


# The op library's table (ops.ACTIVATION_CLASSES, torch-free) turned into module factories.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    name: _activation_factory(cls_name, args) for name, (cls_name, args) in ACTIVATION_CLASSES.items()}


# ---- sequence ops (pbtnas.layers.sequence): signals [B, C, L] and tokens [B, T, D] ------------------------------

class Transpose(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(-1, -2)


class TokenPool(nn.Module):
    """[B, T, D] -> [B, D]: the mean of the tokens, or the first one (a class token)."""

    def __init__(self, reduce: str):
        super().__init__()
        self.reduce = reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1) if self.reduce == "mean" else x[:, 0]


class SelfAttention(nn.MultiheadAttention):
    """Multi-head self-attention on [B, T, D]. The projections' shapes do not depend on the number of heads
    (in_proj [3D, D], out_proj [D, D]), so a heads gene owns no weights and networks with different heads mix."""

    def __init__(self, width: int, heads: int, dropout: float, bias: bool):
        super().__init__(width, heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x, x, x, need_weights=False)[0]


class PatchEmbed(nn.Conv2d):
    """[B, C, H, W] -> [B, (H / p) (W / p), D]: non-overlapping p x p patches, projected by one strided conv (so
    `init conv = ...` initialises it), in row-major order (ViT's)."""

    def __init__(self, channels: int, width: int, patch: int):
        super().__init__(channels, width, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).flatten(2).transpose(1, 2)


def _trunc_normal(shape: tuple[int, ...]) -> nn.Parameter:
    return nn.Parameter(nn.init.trunc_normal_(torch.empty(shape), std=0.02, a=-0.04, b=0.04))


class PositionalEmbedding(nn.Module):
    """x + a learned [T, D] table (ViT's, initialised N(0, 0.02) truncated at 2 sigma)."""

    def __init__(self, tokens: int, width: int):
        super().__init__()
        self.weight = _trunc_normal((tokens, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight


class ClassToken(nn.Module):
    """[B, T, D] -> [B, T + 1, D]: a learned token in front, read back by `first_token`."""

    def __init__(self, width: int):
        super().__init__()
        self.weight = _trunc_normal((1, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.weight.expand(x.shape[0], -1, -1), x], dim=1)


class TokenEmbedding(nn.Embedding):
    """nn.Embedding that takes ids as integers or as floats holding whole numbers (the network input convention of
    pbtnas.layers.sequence): a fraction or an id outside [0, vocab) is a ValueError naming it, not a wrong row or
    torch's bare index error."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            ids = x.long()
            if not torch.equal(ids.to(x.dtype), x):
                raise ValueError("embedding ids must be whole numbers; the input holds fractions")
            x = ids
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.num_embeddings):
            raise ValueError(f"embedding ids must be in [0, {self.num_embeddings}); the input has "
                             f"{int(x.min())}..{int(x.max())}")
        return super().forward(x)
