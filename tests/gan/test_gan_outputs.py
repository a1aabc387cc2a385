"""Sample grids and the final evaluation helper."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from gan_fakes import FakeGenome, FakeSpace
from PIL import Image

from pbtnas.tasks.gan import GanOptions, GanTask, evaluate_generator, parse_grid, sample
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


def test_final_scores_name_the_feature_network(gan_cache: Path, tmp_path: Path) -> None:
    task = GanTask(FakeSpace(), GanOptions.from_preset("tiny", cache_dir=gan_cache, max_train_images=64, device="cpu"),
                   None)
    state = task.new_member(FakeGenome((0,)), seed=0)
    scores = task.final_scores(state, FakeGenome((0,)), n_images=300, splits=3)
    assert scores.fid_name == "digits-FID" and scores.is_name == "digits-IS" and scores.n_images == 300
    assert scores.fid == pytest.approx(task.fid(task.final_generator(state, FakeGenome((0,))), 300, seed=0), rel=1e-5)
    assert 1.0 <= scores.is_mean <= 10.0 and scores.is_std >= 0.0
    assert "digits-FID-300" in str(scores) and "digits-IS" in str(scores)
    # the same numbers from the plain function the CLI calls
    again = evaluate_generator(task.final_generator(state, FakeGenome((0,))), task.feature_net(), task.reference(),
                               task.latent_dim, n_images=300, splits=3)
    assert again.to_dict() == scores.to_dict()
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
