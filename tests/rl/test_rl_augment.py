"""Random shift: a replicate-padded crop at an integer offset in [0, 2 * pad] per image."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pbtnas.tasks.rl.augment import random_shift


def test_each_image_is_the_padded_crop_at_its_offset() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 9, 84, 84, generator=g) * 255
    out, shifts = random_shift(x, 4, g, return_shifts=True)
    assert out.shape == x.shape and shifts.shape == (16, 2)
    assert shifts.min() >= 0 and shifts.max() <= 8
    padded = F.pad(x, (4, 4, 4, 4), mode="replicate")
    for b in range(16):
        dy, dx = int(shifts[b, 0]), int(shifts[b, 1])
        assert torch.equal(out[b], padded[b, :, dy : dy + 84, dx : dx + 84])


def test_shift_moves_content_and_replicates_edges() -> None:
    x = torch.arange(84.0).repeat(1, 1, 84, 1)  # value = column index
    g = torch.Generator().manual_seed(1)
    out, shifts = random_shift(x.expand(64, 1, 84, 84).contiguous(), 4, g, return_shifts=True)
    for b in range(64):
        dx = int(shifts[b, 1])
        expected = (torch.arange(84.0) + dx - 4).clamp(0, 83)  # out-of-image columns repeat the border column
        assert torch.equal(out[b, 0, 0], expected)
    assert len({tuple(s.tolist()) for s in shifts}) > 20  # offsets differ between images


def test_pad_zero_is_identity() -> None:
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(random_shift(x, 0), x)  # type: ignore[arg-type]
