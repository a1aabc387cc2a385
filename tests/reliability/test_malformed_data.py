"""Missing and malformed data files of the classify task: each is one DatasetError naming the file and what was
expected, whether the driver's preflight finds it (reading shapes and labels) or the worker's full load does; the
CLI turns the preflight's into exit 2 without a traceback and without a run directory."""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))  # the writers of the test data

from datafiles import labels, write_cifar, write_mnist, write_png_folder  # noqa: E402
from pbtnas.cli import app  # noqa: E402
from pbtnas.engine import commands  # noqa: E402
from pbtnas.tasks.classify.data import load_data  # noqa: E402
from pbtnas.tasks.classify.options import ClassifyOptions  # noqa: E402
from pbtnas.tasks.classify.sources import source_info  # noqa: E402
from pbtnas.tasks.dataset_files import DatasetError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def good_npz(path: Path, **arrays: np.ndarray) -> None:
    base = {"x": np.random.default_rng(0).random((30, 4)), "y": labels(30, 3)}
    np.savez(path, **{**base, **arrays})


def npz_cases() -> dict[str, Callable[[Path], tuple[Path, str]]]:
    def case(write: Callable[[Path], None], expected: str) -> Callable[[Path], tuple[Path, str]]:
        def make(tmp: Path) -> tuple[Path, str]:
            path = tmp / "data.npz"
            write(path)
            return path, expected
        return make

    def truncated(p: Path) -> None:
        good_npz(p)
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])

    def corrupt_member(p: Path) -> None:  # a valid zip whose x.npy is garbage
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("x.npy", b"\x93NUMPY garbage")
            z.writestr("y.npy", b"nothing")

    return {
        "missing": lambda tmp: (tmp / "absent.npz", "not found"),
        "directory": case(lambda p: p.mkdir(), "is not a file"),
        "empty": case(lambda p: p.write_bytes(b""), "cannot be read"),
        "garbage": case(lambda p: p.write_bytes(np.random.default_rng(1).bytes(300)), "cannot be read"),
        "truncated": case(truncated, "cannot be read"),
        "corrupt member": case(corrupt_member, "cannot be read"),
        "bare npy": case(lambda p: np.save(open(p, "wb"), np.zeros(3)), "single array"),
        "no y": case(lambda p: np.savez(p, x=np.zeros((4, 2))), "has the arrays ['x']"),
        "x_val alone": case(lambda p: good_npz(p, x_val=np.zeros((3, 4))), "x_val without y_val"),
        "y too short": case(lambda p: good_npz(p, y=labels(10, 3)), "one label per sample"),
        "float labels": case(lambda p: good_npz(p, y=np.zeros(30)), "expected integer labels"),
        "rank 1 x": case(lambda p: good_npz(p, x=np.zeros(30)), "at least one dimension per sample"),
        "text x": case(lambda p: good_npz(p, x=np.full((30, 2), "a")), "expected numbers"),
        "negative label": case(lambda p: good_npz(p, y=labels(30, 3) - 1), "labels must be integers 0..K-1"),
        "one class": case(lambda p: good_npz(p, y=np.zeros(30, np.int64)), "at least 2 classes"),
        "val shape": case(lambda p: good_npz(p, x_val=np.zeros((6, 5)), y_val=labels(6, 3)), "samples of shape [5]"),
    }


def csv_cases() -> dict[str, tuple[bytes | None, str]]:
    rows = "\n".join(f"{i},{i * 2},{i % 3}" for i in range(12))
    return {
        "missing": (None, "not found"),
        "empty": (b"", "no header"),
        "header only": (b"a,b,label\n", "no data rows"),
        "no label column": (f"a,b,c\n{rows}\n".encode(), "no column 'label'"),
        "ragged": (f"a,b,label\n{rows}\n1,2\n".encode(), "line 14: 2 fields"),
        "not a number": (f"a,b,label\n{rows}\n1,x,2\n".encode(), "line 14, column 'b': 'x' is not a number"),
        "latin-1": ("a,b,label\n1,2,caf\xe9\n".encode("latin-1"), "not UTF-8"),
        "binary": (np.random.default_rng(2).bytes(200), "not UTF-8"),
        "nan": (f"a,b,label\n{rows}\nnan,1,1\n".encode(), "NaN or infinite"),
        "one class": (b"a,label\n1,0\n2,0\n3,0\n", "at least 2 classes"),
        "only the label": (b"label\n1\n0\n", "only the label column"),
    }


@pytest.mark.parametrize("name", list(npz_cases()))
def test_malformed_npz(tmp_path: Path, name: str) -> None:
    path, expected = npz_cases()[name](tmp_path)
    options = ClassifyOptions(data=f"npz:{path}")
    for read in (source_info, load_data):
        with pytest.raises(DatasetError, match=None) as err:
            read(options)
        assert str(path) in str(err.value) and expected in str(err.value), (name, str(err.value))


def test_npz_nan_is_found_by_the_full_load(tmp_path: Path) -> None:
    path = tmp_path / "nan.npz"
    x = np.zeros((30, 4))
    x[3, 1] = np.nan
    good_npz(path, x=x)
    source_info(ClassifyOptions(data=f"npz:{path}"))  # shapes and labels are fine
    with pytest.raises(DatasetError, match="x has NaN or infinite values"):
        load_data(ClassifyOptions(data=f"npz:{path}"))


@pytest.mark.parametrize("name", list(csv_cases()))
def test_malformed_csv(tmp_path: Path, name: str) -> None:
    content, expected = csv_cases()[name]
    path = tmp_path / "table.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError) as err:
        load_data(ClassifyOptions(data=f"csv:{path}"))
    assert str(path) in str(err.value) and expected in str(err.value), (name, str(err.value))


FOLDER_CASES = ["missing", "a file", "empty", "class without images", "one class", "corrupt first png",
                "corrupt later png", "mixed sizes", "unknown val class"]


@pytest.mark.parametrize("name", FOLDER_CASES)
def test_malformed_image_folder(tmp_path: Path, name: str) -> None:
    root = tmp_path / "images"
    if name == "a file":
        root.write_text("x")
    elif name != "missing":
        root.mkdir()
    if name in ("class without images", "corrupt first png", "corrupt later png", "mixed sizes", "unknown val class"):
        write_png_folder(root / ("train" if name == "unknown val class" else ""), classes=2, per_class=3)
    expected = {"missing": "not found", "a file": "is not a folder", "empty": "no class folders",
                "class without images": "has no images", "one class": "needs at least 2",
                "corrupt first png": "cannot be decoded", "corrupt later png": "cannot be decoded",
                "mixed sizes": "image_size=N", "unknown val class": "that the training folder lacks"}[name]
    bad = root
    if name == "class without images":
        (root / "class_9").mkdir()
        bad = root / "class_9"
    elif name == "one class":
        write_png_folder(root, classes=1, per_class=2)
    elif name in ("corrupt first png", "corrupt later png"):
        bad = root / "class_0" / ("0.png" if name == "corrupt first png" else "2.png")
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)
    elif name == "mixed sizes":
        write_png_folder(tmp_path / "big", classes=1, per_class=1, size=9)
        bad = root / "class_1" / "9.png"
        (tmp_path / "big" / "class_0" / "0.png").rename(bad)
    elif name == "unknown val class":
        write_png_folder(root / "val", classes=3, per_class=1)
        bad = root / "val"
    options = ClassifyOptions(data=f"imagefolder:{root}")
    with pytest.raises(DatasetError) as err:
        load_data(options)
    assert str(bad) in str(err.value) and expected in str(err.value), (name, str(err.value))
    if name not in ("corrupt later png", "mixed sizes"):  # the rest the driver's preflight sees too
        with pytest.raises(DatasetError, match=expected):
            source_info(options)


def test_truncated_idx_and_garbage_cifar(tmp_path: Path) -> None:
    write_mnist(tmp_path, "MNIST")
    images = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"MNIST in .* is malformed .*expected idx files"):
        load_data(ClassifyOptions(data="mnist", data_root=tmp_path))
    write_cifar(tmp_path, 10)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match=r"CIFAR-10 in .* is malformed .*python batches"):
        load_data(ClassifyOptions(data="cifar10", data_root=tmp_path, verify_checksums=False))
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DatasetError, match="incomplete: missing test_batch"):
        source_info(ClassifyOptions(data="cifar10", data_root=tmp_path))


def test_the_cli_says_it_in_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started for a run that cannot start")

    monkeypatch.setattr(commands, "launch_pool", refuse)
    runner = CliRunner()
    for name in ("garbage", "no y", "float labels"):
        path, expected = npz_cases()[name](tmp_path)
        out = tmp_path / "run"
        result = runner.invoke(app, ["search", str(ROOT / "spaces" / "mlp.nas"), "--data", f"npz:{path}",
                                     "--out", str(out), "--no-progress"])
        assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output, result.output
        assert not out.exists()
        path.unlink()
