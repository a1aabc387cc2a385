"""Every data source of the classify task on small files in its real format (no network): what it yields, the
held-out splits, and the preflight's view of it (sample shape, classes) agreeing with what is loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from datafiles import labels, write_cifar, write_mnist, write_png_folder, write_svhn
from pbtnas.tasks.classify.data import load_data, load_digits_split
from pbtnas.tasks.classify.options import ClassifyOptions
from pbtnas.tasks.classify.sources import source_info


def loaded(**options):
    opts = ClassifyOptions(**options)
    data = load_data(opts)
    info = source_info(opts)
    assert info.sample_shape == data.sample_shape and info.num_classes == data.num_classes
    return data


def test_digits_split_is_the_one_runs_always_had() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]
    x_tr, x_va, y_tr, y_va = train_test_split(x, digits.target, test_size=0.25, random_state=3, stratify=digits.target)
    data = load_digits_split(3, 0.25, train_limit=100)
    assert torch.equal(data.x_val, torch.from_numpy(x_va)) and torch.equal(data.y_val, torch.from_numpy(y_va))
    assert torch.equal(data.x_train, torch.from_numpy(x_tr[:100])) and data.x_test is None


def test_mnist1d_is_the_published_split_with_validation_held_out() -> None:
    data = loaded(data="mnist1d", data_seed=0)
    assert data.sample_shape == (1, 40) and data.x_train.dtype == torch.float32 and data.num_classes == 10
    assert len(data.x_train) + len(data.x_val) == 4000 and len(data.x_val) == 1000 and len(data.x_test) == 1000
    assert np.bincount(data.y_val.numpy()).min() >= 95  # stratified: 100 per class, give or take rounding
    again = loaded(data="mnist1d", data_seed=0)
    assert torch.equal(again.x_train, data.x_train)  # generated, deterministic
    other = loaded(data="mnist1d", data_seed=1)
    assert not torch.equal(other.y_val, data.y_val) and torch.equal(other.x_test, data.x_test)


def test_mnist1d_leaves_the_global_generators_alone() -> None:
    import random

    np.random.seed(123)
    random.seed(123)
    loaded(data="mnist1d")
    assert np.random.randint(1 << 30) == np.random.RandomState(123).randint(1 << 30)
    assert random.random() == random.Random(123).random()


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_idx_files(tmp_path: Path, name: str, folder: str) -> None:
    write_mnist(tmp_path, folder)
    data = loaded(data=name, data_root=tmp_path, val_fraction=0.25)
    assert data.sample_shape == (1, 28, 28) and data.x_train.dtype == torch.uint8
    assert len(data.x_train) == 30 and len(data.x_val) == 10 and len(data.x_test) == 20


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_python_batches(tmp_path: Path, classes: int) -> None:
    write_cifar(tmp_path, classes, n_per_batch=200 if classes == 100 else 20)
    data = loaded(data=f"cifar{classes}", data_root=tmp_path, verify_checksums=False, val_fraction=0.5)
    assert data.sample_shape == (3, 32, 32) and data.num_classes == classes
    n_train = 100 if classes == 10 else 200
    assert len(data.x_train) + len(data.x_val) == n_train and data.x_test is not None


def test_cifar_checksums_are_checked_by_default(tmp_path: Path) -> None:
    write_cifar(tmp_path, 10)
    with pytest.raises(ValueError, match="MD5"):
        source_info(ClassifyOptions(data="cifar10", data_root=tmp_path))


def test_svhn_mat_files(tmp_path: Path) -> None:
    write_svhn(tmp_path)
    data = loaded(data="svhn", data_root=tmp_path, verify_checksums=False)
    assert data.sample_shape == (3, 32, 32) and data.num_classes == 10
    assert sorted(set(data.y_test.tolist())) == list(range(10))  # SVHN's label 10 is the digit 0


def test_npz_any_rank_with_and_without_splits(tmp_path: Path) -> None:
    path = tmp_path / "seq.npz"
    np.savez(path, x=np.random.rand(60, 5).astype(np.float64), y=labels(60, 3))
    data = loaded(data=f"npz:{path}", data_seed=1, test_fraction=0.2)
    assert data.sample_shape == (5,) and data.x_train.dtype == torch.float32
    assert len(data.x_test) == 12 and len(data.x_val) == 12 and len(data.x_train) == 36
    given = tmp_path / "given.npz"
    np.savez(given, x=np.zeros((12, 2, 3, 4), np.uint8), y=labels(12, 4), x_val=np.ones((8, 2, 3, 4), np.uint8),
             y_val=labels(8, 4), x_test=np.ones((4, 2, 3, 4), np.uint8), y_test=labels(4, 4))
    data = loaded(data=f"npz:{given}")
    assert len(data.x_train) == 12 and len(data.x_val) == 8 and len(data.x_test) == 4  # nothing held out
    assert data.x_train.dtype == torch.uint8 and data.num_classes == 4


def test_csv_numeric_and_named_labels(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv"
    rows = [f"{i * 0.1:.1f},{i % 7},{['setosa', 'versicolor'][i % 2]}" for i in range(20)]
    path.write_text("a,b,species\n" + "\n".join(rows) + "\n")
    data = loaded(data=f"csv:{path}", label_column="species")
    assert data.sample_shape == (2,) and data.num_classes == 2 and data.class_names == ("setosa", "versicolor")
    numeric = tmp_path / "n.csv"
    numeric.write_text("label,f\n" + "\n".join(f"{i % 3},{i}" for i in range(30)) + "\n")
    assert loaded(data=f"csv:{numeric}").num_classes == 3


@pytest.mark.parametrize("mode,channels", [("RGB", 3), ("L", 1)])
def test_imagefolder_pngs(tmp_path: Path, mode: str, channels: int) -> None:
    write_png_folder(tmp_path / "pets", classes=3, per_class=8, mode=mode)
    data = loaded(data=f"imagefolder:{tmp_path / 'pets'}", num_workers=2)
    assert data.sample_shape == (channels, 8, 8) and data.class_names == ("class_0", "class_1", "class_2")
    assert len(data.x_train) == 18 and len(data.x_val) == 6
    from PIL import Image

    first = np.asarray(Image.open(tmp_path / "pets" / "class_0" / "0.png").convert(mode))
    assert any(np.array_equal(x.numpy().squeeze() if channels == 1 else x.numpy().transpose(1, 2, 0), first)
               for x in torch.cat([data.x_train, data.x_val]))  # pixels exactly as in the file


def test_imagefolder_train_val_test_and_resize(tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        write_png_folder(tmp_path / "d" / split, classes=2, per_class=4, size=10)
    data = loaded(data=f"imagefolder:{tmp_path / 'd'}", image_size=6)
    assert data.sample_shape == (3, 6, 6) and len(data.x_train) == 8 and len(data.x_val) == 8
    assert len(data.x_test) == 8


def test_relative_paths_become_absolute_where_the_user_wrote_them(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the driver validates the options once; a Ray worker running in another folder reads the absolute paths
    monkeypatch.chdir(tmp_path)
    options = ClassifyOptions(data="npz:data/x.npz", data_root="sets")
    assert options.data == f"npz:{tmp_path / 'data' / 'x.npz'}" and options.data_root == tmp_path / "sets"
    assert ClassifyOptions(data="mnist1d").data == "mnist1d"
