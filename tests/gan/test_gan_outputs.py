"""Sample grids and the final evaluation helper."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gan_fakes import FakeGenome, FakeSpace
from PIL import Image
from torch import Tensor, nn

from pbtnas.tasks.gan import GanOptions, GanTask, evaluate_generator, parse_grid, sample
from pbtnas.tasks.gan.metrics import FeatureNet, FrechetScorer, ReferenceStats
from pbtnas.tasks.gan.outputs import fixed_latents, generate


def test_parse_grid() -> None:
    assert parse_grid("8x8") == (8, 8) and parse_grid(" 3X5 ") == (3, 5)
    for bad in ("8", "0x3", "axb", "8x8x8"):
        with pytest.raises(ValueError, match="ROWSxCOLS"):
            parse_grid(bad)


def test_sample_grid_is_a_fixed_function_of_the_generator(tmp_path: Path) -> None:
    gen = FakeSpace().build(FakeGenome((1,)), 0).generator
    gen.train()
    out = sample(gen, 16, tmp_path / "sub" / "samples.png", grid="2x3")
    with Image.open(out) as im:
        # torchvision's grid: 2 px padding around 16 px images
        assert im.size == (3 * 18 + 2, 2 * 18 + 2)
        first = np.asarray(im.convert("RGB"))
    assert gen.training  # restored after sampling in eval mode
    out2 = sample(gen, 16, tmp_path / "again.png", grid="2x3")
    with Image.open(out2) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), first)
    assert torch.equal(fixed_latents(4, 16), fixed_latents(4, 16))
    images = generate(gen, fixed_latents(5, 16), batch_size=2)
    assert images.shape == (5, 3, 16, 16) and images.abs().max() <= 1


class PatternGenerator(nn.Module):
    """Ignores z: image k of the run (counted across batches) is filled with PATTERN[k % 4]."""

    PATTERN = (-0.75, -0.25, 0.25, 0.75)

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the module a device
        self.count = 0

    def forward(self, z: Tensor) -> Tensor:
        idx = torch.arange(self.count, self.count + z.shape[0]) % 4
        self.count += z.shape[0]
        values = torch.tensor(self.PATTERN)[idx]
        return values.view(-1, 1, 1, 1).expand(-1, 3, 4, 4).clone()


class MeanFeatures(FeatureNet):
    """Feature: the mean of channel 0 of the uint8 image; logits: a confident one-hot of its quarter of 0..255."""

    def __init__(self) -> None:
        super().__init__()
        self.num_features, self.num_classes = 1, 4
        self.fid_name, self.is_name, self.cache_tag = "mean-FID", "mean-IS", "mean"

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        assert images.dtype == torch.uint8
        mean = images[:, 0].double().mean(dim=(1, 2))
        return mean.unsqueeze(1), 50.0 * F.one_hot((mean // 64).long().clamp(0, 3), 4).float()


def _reference_60_200() -> ReferenceStats:
    scorer = FrechetScorer(1)
    scorer.add_real(torch.tensor([60.0, 200.0]).repeat(50).unsqueeze(1))  # mean 130, unbiased var 100 * 70^2 / 99
    return scorer.reference()


def _fid_1d(mu_f: float, var_f: float, mu_r: float, var_r: float) -> float:
    return (mu_f - mu_r) ** 2 + var_f + var_r - 2.0 * math.sqrt(var_f * var_r)


def test_evaluate_generator_against_hand_computed_fid_and_is() -> None:
    # 400 images in batches of 64 (the last one partial): 100 of each pattern value. x * 127.5 + 127.5 rounded
    # gives 32, 96, 159, 223 (truncation would give 31, 95, 159, 223: a different FID).
    scores = evaluate_generator(PatternGenerator(), MeanFeatures(), _reference_60_200(), latent_dim=8,
                                n_images=400, splits=1, batch_size=64)
    fake = [32.0, 96.0, 159.0, 223.0]
    mu_f = sum(fake) / 4  # 127.5
    var_f = 100 * sum((x - mu_f) ** 2 for x in fake) / 399
    expected = _fid_1d(mu_f, var_f, 130.0, 100 * 70.0 ** 2 / 99)
    assert scores.fid == pytest.approx(expected, rel=1e-6)
    # four classes, equally often, each image confidently one of them: IS = exp(H(uniform over 4)) = 4
    assert scores.is_mean == pytest.approx(4.0, rel=1e-4) and scores.is_std == 0.0
    assert (scores.fid_name, scores.is_name, scores.n_images, scores.splits) == ("mean-FID", "mean-IS", 400, 1)
    assert str(scores).startswith("mean-FID-400 ")


def test_final_scores_use_the_ema_generator(gan_cache: Path) -> None:
    """The EMA's to_rgb conv is zeroed with bias atanh(0.5): every EMA image is 0.5 -> uint8 191 (0.5 * 127.5 +
    127.5 = 191.25, rounded), so FID = (191 - 130)^2 + var_r and IS = 1, by hand. The raw model's images vary."""
    task = GanTask(FakeSpace(), GanOptions.from_preset("tiny", cache_dir=gan_cache, max_train_images=64, device="cpu"),
                   None)
    task._feature_net, task._reference = MeanFeatures(), _reference_60_200()
    state = task.new_member(FakeGenome((0,)), seed=0)
    ema = state["shadows"]["ema"]
    ema["generator.to_rgb.2.weight"] = torch.zeros_like(ema["generator.to_rgb.2.weight"])
    ema["generator.to_rgb.2.bias"] = torch.full_like(ema["generator.to_rgb.2.bias"], math.atanh(0.5))
    scores = task.final_scores(state, FakeGenome((0,)), n_images=300, splits=3)
    var_r = 100 * 70.0 ** 2 / 99
    assert scores.fid == pytest.approx(_fid_1d(191.0, 0.0, 130.0, var_r), rel=1e-6)
    assert scores.is_mean == pytest.approx(1.0, abs=1e-6) and scores.is_std == pytest.approx(0.0, abs=1e-6)
    raw = {**state, "shadows": {}}  # no EMA: the model's own weights, whose images are not constant
    assert task.final_scores(raw, FakeGenome((0,)), n_images=300, splits=3).fid != pytest.approx(scores.fid)


def test_final_scores_name_the_feature_network(gan_cache: Path, tmp_path: Path) -> None:
    task = GanTask(FakeSpace(), GanOptions.from_preset("tiny", cache_dir=gan_cache, max_train_images=64, device="cpu"),
                   None)
    state = task.new_member(FakeGenome((0,)), seed=0)
    scores = task.final_scores(state, FakeGenome((0,)), n_images=300, splits=3)
    assert scores.fid_name == "digits-FID" and scores.is_name == "digits-IS" and scores.n_images == 300
    assert "digits-FID-300" in str(scores) and "digits-IS" in str(scores)
    path = task.save_samples(state, FakeGenome((0,)), tmp_path / "step0" / "member0.png")
    assert path.is_file()


def test_after_step_returns_each_members_grid_per_step(gan_cache: Path, tmp_path: Path) -> None:
    """The grid travels back to the driver as bytes (no shared filesystem); the worker writes nothing."""
    task = GanTask(FakeSpace(), GanOptions.from_preset("tiny", cache_dir=gan_cache, max_train_images=64, device="cpu"),
                   tmp_path)
    state = task.new_member(FakeGenome((0,)), seed=0)
    first = task.after_step(state, FakeGenome((0,)), uid=3, epoch=2)
    assert list(first) == ["generated/member_0003/epoch_0002.png"]
    assert not (tmp_path / "generated").exists()
    with Image.open(io.BytesIO(first["generated/member_0003/epoch_0002.png"])) as im:
        assert im.size == (6 * 18 + 2, 6 * 18 + 2)  # a 6x6 grid of 16 px images, as the reference saves
        a = np.asarray(im.convert("RGB"))
    again = task.after_step(state, FakeGenome((0,)), uid=3, epoch=4)
    assert list(again) == ["generated/member_0003/epoch_0004.png"]
    with Image.open(io.BytesIO(again["generated/member_0003/epoch_0004.png"])) as im:  # the same fixed latents
        assert np.array_equal(np.asarray(im.convert("RGB")), a)
