"""The classify task's training options: optimizers and their named moments, the cosine schedule, augmentation,
normalisation, the per-epoch sample limit, and the engine filling the schedule's length from the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from datafiles import labels
from pbtnas.compiler import compile_space
from pbtnas.engine.commands import resolve_task_options
from pbtnas.engine.config import SearchConfig
from pbtnas.tasks.classify import ClassifyOptions, ClassifyTask
from pbtnas.tasks.classify.inputs import augment_batch, channel_statistics
from pbtnas.tasks.dataset_files import DatasetError

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def image_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (96, 3, 8, 8), dtype=np.uint8), y=labels(96, 3))
    return path


def task(path: Path, **options) -> tuple[ClassifyTask, object]:
    space = compile_space(HERE / "spaces" / "image.nas")
    t = ClassifyTask(space, ClassifyOptions(data=f"npz:{path}", data_seed=0, **options), None)
    return t, space.validate([1])


@pytest.mark.parametrize("optimizer,field", [("adam", "exp_avg"), ("adamw", "exp_avg_sq"), ("sgd", "momentum_buffer")])
def test_optimizers_keep_their_moments_by_name(image_npz: Path, optimizer: str, field: str) -> None:
    t, genome = task(image_npz, optimizer=optimizer, lr=0.05, batch_size=16)
    state = t.new_member(genome, 1)
    state, _ = t.train(state, genome, 0, 1, 2)
    moments = state["optim"]
    assert set(moments) == {k for k, _ in t.space.build(genome).named_parameters()}
    assert all(field in m for m in moments.values())
    again, _ = t.train(state, genome, 1, 2, 3)  # the moments go back in and move on
    key = next(iter(moments))
    assert not torch.equal(again["optim"][key][field], moments[key][field])


def test_cosine_schedule_and_its_length_from_the_run() -> None:
    cfg = resolve_task_options(SearchConfig.model_validate(
        {"space": "x.nas", "epochs": 10, "task_options": {"schedule": "cosine", "lr": 0.1}}))
    assert cfg.task_options["run_epochs"] == 10
    t = ClassifyTask.__new__(ClassifyTask)  # the schedule needs only the options
    t.options = ClassifyOptions.model_validate(cfg.task_options)
    rates = [t.learning_rate(e) for e in range(11)]
    assert rates[0] == pytest.approx(0.1) and rates[5] == pytest.approx(0.05) and rates[10] == pytest.approx(0)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    t.options = ClassifyOptions(lr=0.1)
    assert {t.learning_rate(e) for e in range(5)} == {0.1}


def test_random_crop_and_flip() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4) + 1
    out = augment_batch(x, padding=1, flip=False, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(2):  # every output is a 4x4 window of the zero-padded image
        windows = [padded[i, :, a:a + 4, b:b + 4] for a in range(3) for b in range(3)]
        assert any(torch.equal(out[i], w) for w in windows)
    flipped = augment_batch(x.repeat(16, 1, 1, 1), padding=0, flip=True, generator=torch.Generator().manual_seed(1))
    kinds = {("same" if torch.equal(f, o) else "flip" if torch.equal(f, o.flip(-1)) else "?")
             for f, o in zip(flipped, x.repeat(16, 1, 1, 1))}
    assert kinds == {"same", "flip"}
    again = augment_batch(x, padding=1, flip=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, augment_batch(x, padding=1, flip=True, generator=torch.Generator().manual_seed(0)))


def test_augmentation_changes_training_and_needs_images(image_npz: Path, tmp_path: Path) -> None:
    plain, genome = task(image_npz)
    augmented, _ = task(image_npz, augment=True)
    a, _ = plain.train(plain.new_member(genome, 1), genome, 0, 1, 2)
    b, _ = augmented.train(augmented.new_member(genome, 1), genome, 0, 1, 2)
    assert any(not torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    flat = tmp_path / "flat.npz"
    np.savez(flat, x=np.zeros((30, 5), np.float32), y=labels(30, 3))
    with pytest.raises(DatasetError, match="augment needs images"):
        ClassifyTask(compile_space(HERE / "spaces" / "seq1d.nas"), ClassifyOptions(data=f"npz:{flat}",
                                                                                  augment=True), None)


def test_normalisation_computed_or_given(image_npz: Path) -> None:
    t, _ = task(image_npz, normalize=True)
    batch = t.inputs(t.data.x_train, training=False)
    assert torch.allclose(batch.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(batch.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)
    mean, std = channel_statistics(t.data.x_train, chunk=7)  # chunked sums agree with the whole
    whole = t.data.x_train.double() / 255
    assert torch.allclose(mean.double(), whole.mean((0, 2, 3)), atol=1e-6)
    given, _ = task(image_npz, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
    x = given.inputs(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8), training=False)
    assert torch.allclose(x, torch.full_like(x, 2.0))
    with pytest.raises(DatasetError, match="2 values but the samples have 3 channels"):
        task(image_npz, mean=[0.5, 0.5], std=[1.0, 1.0])
    with pytest.raises(ValueError, match="both mean and std"):
        ClassifyOptions(mean=[0.5])


def test_epoch_samples_limits_each_epoch(image_npz: Path) -> None:
    t, genome = task(image_npz, epoch_samples=20, batch_size=8)
    state, _ = t.train(t.new_member(genome, 1), genome, 0, 3, 2)
    assert state["meta"]["steps"] == 3 * 3  # 20 samples in batches of 8: 3 steps an epoch (of 9 with all 72)


def test_presets() -> None:
    tiny = ClassifyOptions(preset="tiny")
    assert (tiny.data, tiny.train_limit, tiny.population, tiny.epochs) == ("digits", 600, 8, 8)
    m1d = ClassifyOptions(preset="mnist1d", lr=0.003)
    assert m1d.data == "mnist1d" and m1d.lr == 0.003 and m1d.schedule == "cosine"  # the user's value wins
    with pytest.raises(ValueError, match="unknown classify preset"):
        ClassifyOptions(preset="paper")
