"""DrQ's random-shift augmentation: replicate-pad by ``pad`` pixels, then crop back at a random integer offset.

DrQ-v2 implements it with ``grid_sample`` on pixel centres, which for integer shifts is exactly this crop. Written
as two ``gather``s it is exact by construction (no interpolation) and its result is easy to check in a test.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["random_shift"]


def random_shift(
    x: Tensor, pad: int = 4, generator: torch.Generator | None = None, *, return_shifts: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Shift every image of ``x`` [B, C, H, W] (float) by its own offset in [-pad, pad] on each axis.

    With ``return_shifts`` also returns the crop offsets [B, 2] as (dy, dx) into the padded image, so that
    ``out[b] == padded[b, :, dy:dy + H, dx:dx + W]``.
    """
    if x.dim() != 4:
        raise ValueError(f"random_shift expects [B, C, H, W], got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    if pad == 0:
        shifts = torch.zeros(n, 2, dtype=torch.long, device=x.device)
        return (x, shifts) if return_shifts else x
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    shifts = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator, device="cpu").to(x.device)
    rows = shifts[:, 0:1] + torch.arange(h, device=x.device)  # [B, H]
    cols = shifts[:, 1:2] + torch.arange(w, device=x.device)  # [B, W]
    out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * pad))
    out = out.gather(3, cols[:, None, None, :].expand(n, c, h, w))
    return (out, shifts) if return_shifts else out
