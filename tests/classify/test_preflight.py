"""`pbtnas search --task classify` checks the space against the data in the driver, before Ray starts and before
the run directory exists: one message with both shapes and the --set that fixes it, exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from datafiles import labels, write_mnist
from pbtnas.cli import app
from pbtnas.compiler import compile_space
from pbtnas.engine import commands
from pbtnas.tasks.classify import ClassifyOptions, ClassifyTask

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
runner = CliRunner()


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started for a run that cannot start")

    monkeypatch.setattr(commands, "launch_pool", refuse)
    monkeypatch.setattr(commands, "run_search", refuse)


def test_a_wrong_input_shape_names_both_shapes_and_the_fix(tmp_path: Path, no_ray: None) -> None:
    write_mnist(tmp_path / "data", "MNIST")
    run = tmp_path / "run"
    result = runner.invoke(app, ["search", str(ROOT / "spaces" / "nb201.nas"), "--data", "mnist", "--data-root",
                                 str(tmp_path / "data"), "--out", str(run), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "takes input [3, 32, 32]" in result.output and "are [1, 28, 28]" in result.output
    assert "--set in_channels=1 --set resolution=28" in result.output
    assert "Traceback" not in result.output and not run.exists()


def test_the_suggested_sets_do_fit(tmp_path: Path) -> None:
    write_mnist(tmp_path, "MNIST")
    options = ClassifyOptions(data="mnist", data_root=tmp_path)
    ClassifyTask.preflight(options, compile_space(ROOT / "spaces" / "nb201.nas",
                                                  {"in_channels": "1", "resolution": "28"}))


def test_classes_and_shared_values(tmp_path: Path) -> None:
    # image.nas has channels = 3 and classes = 3, size = 8 and width = 8: only the combination that compiles
    # into a fitting network is suggested
    path = tmp_path / "x.npz"
    np.savez(path, x=np.zeros((40, 1, 5, 5), np.float32), y=labels(40, 4))
    with pytest.raises(ValueError) as err:
        ClassifyTask.preflight(ClassifyOptions(data=f"npz:{path}"), compile_space(HERE / "spaces" / "image.nas"))
    message = str(err.value)
    assert "returns [3] but npz file" in message and "has 4 classes" in message
    assert message.endswith("hint: --set channels=1 --set classes=4 --set size=5"), message


def test_a_rank_mismatch_has_no_set_to_suggest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"takes input \[1, 40\] but the samples of scikit-learn's digits are "
                                         r"\[1, 8, 8\]\nhint: change the network's input"):
        ClassifyTask.preflight(ClassifyOptions(), compile_space(HERE / "spaces" / "seq1d.nas"))


def test_unknown_data_and_network(tmp_path: Path, no_ray: None) -> None:
    for args, expected in ((["--data", "imagenet"], "unknown classify data 'imagenet'"),
                           (["--data", "npz:"], "give the path after 'npz:'"),
                           (["--data", "mnist"], "MNIST needs a data root"),
                           (["--task-option", "network=head"], "no network 'head'")):
        result = runner.invoke(app, ["search", str(ROOT / "spaces" / "digits.nas"), "--out", str(tmp_path / "r"),
                                     "--no-progress", *args])
        assert result.exit_code == 2 and expected in result.output, (args, result.output)
        assert not (tmp_path / "r").exists()
