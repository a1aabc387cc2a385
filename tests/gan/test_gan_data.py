"""The datasets, read from small fake folders in torchvision's real on-disk formats."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.tasks.gan.data import DatasetError, epoch_batches, load_dataset, resize_uint8, to_float, to_uint8

PER_BATCH = 4  # images per fake CIFAR batch file


def _cifar_images(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)  # HWC


def make_fake_cifar10(root: Path) -> np.ndarray:
    """data_batch_1..5, test_batch, batches.meta: pickled dicts with 'data' [N, 3072] (R, G, B planes)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train = []
    for i in range(1, 6):
        hwc = _cifar_images(i, PER_BATCH)
        train.append(hwc)
        entry = {"data": hwc.transpose(0, 3, 1, 2).reshape(PER_BATCH, 3072), "labels": [i % 10] * PER_BATCH,
                 "batch_label": f"training batch {i} of 5"}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(entry, protocol=2))
    test = _cifar_images(9, PER_BATCH)
    (folder / "test_batch").write_bytes(pickle.dumps(
        {"data": test.transpose(0, 3, 1, 2).reshape(PER_BATCH, 3072), "labels": [0] * PER_BATCH}, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{k}" for k in range(10)]}, protocol=2))
    return np.concatenate(train)


def make_fake_stl10(root: Path, n_train: int = 3, n_unlabeled: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """train_X.bin etc.: raw uint8 3x96x96 images stored column-major, labels 1..10 as uint8."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def write_images(name: str, n: int) -> np.ndarray:
        chw = rng.integers(0, 256, size=(n, 3, 96, 96), dtype=np.uint8)
        chw[:, :, :10, :] = 255  # a bright top band: catches a transposed (column-major) read
        chw[:, :, 10:, :] //= 2
        np.ascontiguousarray(chw.transpose(0, 1, 3, 2)).tofile(folder / name)
        return chw

    train = write_images("train_X.bin", n_train)
    np.arange(1, n_train + 1, dtype=np.uint8).tofile(folder / "train_y.bin")
    unlabeled = write_images("unlabeled_X.bin", n_unlabeled)
    write_images("test_X.bin", 2)
    np.array([1, 2], dtype=np.uint8).tofile(folder / "test_y.bin")
    (folder / "class_names.txt").write_text("\n".join(f"c{k}" for k in range(10)))
    return train, unlabeled


def test_cifar10_reads_the_python_batches(tmp_path: Path) -> None:
    expected = make_fake_cifar10(tmp_path)
    data = load_dataset("cifar10", 32, root=tmp_path, verify_checksums=False)
    assert data.name == "cifar10" and len(data) == 5 * PER_BATCH
    assert data.images.dtype == torch.uint8 and data.images.shape == (20, 3, 32, 32)
    assert torch.equal(data.images, torch.from_numpy(expected).permute(0, 3, 1, 2))
    assert data.labels.tolist() == [i % 10 for i in range(1, 6) for _ in range(PER_BATCH)]

    small = load_dataset("cifar10", 16, root=tmp_path, verify_checksums=False, max_images=7)
    assert small.images.shape == (7, 3, 16, 16)
    assert torch.equal(small.images, resize_uint8(data.images[:7], 16))


def test_cifar10_missing_files_are_named(tmp_path: Path) -> None:
    make_fake_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match=r"missing data_batch_3 .*expected data_batch_1, data_batch_2"):
        load_dataset("cifar10", 32, root=tmp_path, verify_checksums=False)
    with pytest.raises(DatasetError, match=r"not found: expected the folder .*cifar-10-batches-py.*--download"):
        load_dataset("cifar10", 32, root=tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match=r"needs a data root"):
        load_dataset("cifar10", 32, root=None)


def test_cifar10_checksums_and_malformed_files(tmp_path: Path) -> None:
    make_fake_cifar10(tmp_path)
    with pytest.raises(DatasetError, match=r"data_batch_1, .*MD5"):
        load_dataset("cifar10", 32, root=tmp_path, verify_checksums=True)
    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(b"not a pickle at all")
    with pytest.raises(DatasetError, match=r"malformed.*python format"):
        load_dataset("cifar10", 32, root=tmp_path, verify_checksums=False)


def test_stl10_reads_train_plus_unlabeled_resized(tmp_path: Path) -> None:
    train, unlabeled = make_fake_stl10(tmp_path)
    data = load_dataset("stl10", 48, root=tmp_path, verify_checksums=False)
    assert data.name == "stl10" and data.images.shape == (8, 3, 48, 48)
    assert data.labels.tolist() == [0, 1, 2, -1, -1, -1, -1, -1]
    full = torch.from_numpy(np.concatenate([train, unlabeled]))
    assert torch.equal(data.images, resize_uint8(full, 48))
    # orientation: the bright band is at the top (rows), not at the left (columns)
    assert data.images[:, :, :4, :].float().mean() > 250
    assert data.images[:, :, 8:, :4].float().mean() < 130


def test_stl10_missing_and_malformed(tmp_path: Path) -> None:
    make_fake_stl10(tmp_path)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").unlink()
    with pytest.raises(DatasetError, match=r"missing unlabeled_X.bin"):
        load_dataset("stl10", 48, root=tmp_path, verify_checksums=False)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").write_bytes(b"\x00" * 1000)  # not a multiple of 3x96x96
    with pytest.raises(DatasetError, match=r"malformed.*binary format"):
        load_dataset("stl10", 48, root=tmp_path, verify_checksums=False)


def test_digits_are_scaled_three_channel_and_normalised() -> None:
    data = load_dataset("digits", 16)
    assert data.images.shape == (1797, 3, 16, 16) and data.num_classes == 10
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    x = to_float(data.images)
    assert x.min() == -1.0 and x.max() == 1.0
    assert torch.equal(to_uint8(x), data.images)  # the float <-> uint8 conversions are inverse
    with pytest.raises(DatasetError, match="unknown GAN dataset"):
        load_dataset("mnist", 16)


def test_epoch_batches_cover_every_item_once() -> None:
    batches = list(epoch_batches(10, 4, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))


def test_preflight_names_the_missing_files_before_any_worker_starts(tmp_path) -> None:
    from pbtnas.engine.commands import UserError, preflight_task, resolve_task_options
    from pbtnas.engine.config import SearchConfig
    from pbtnas.tasks.gan import GanOptions, GanTask
    from pbtnas.tasks.gan.data import DatasetError

    with pytest.raises(DatasetError, match="data_batch_1"):
        GanTask.preflight(GanOptions(data="cifar10", data_root=tmp_path, fid_features="classifier"))
    GanTask.preflight(GanOptions(data="digits"))  # the embedded default needs no file
    cfg = SearchConfig.model_validate({"space": "x.nas", "task": "gan",
                                       "task_options": {"data": "stl10", "data_root": str(tmp_path),
                                                        "fid_features": "classifier"}})
    resolved = resolve_task_options(cfg)  # validating a config checks no files
    with pytest.raises(UserError, match="STL-10 not found"):
        preflight_task(resolved)  # running it does, before Ray starts
