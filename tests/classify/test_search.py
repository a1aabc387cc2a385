"""Searches of the classify task on Ray (the session's): a population that fails names the cause, a data file
that only the workers' full load finds malformed ends the run with its message, and MNIST-1D end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pbtnas
from datafiles import write_png_folder
from pbtnas.compiler import compile_space
from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.errors import UserError

HERE = Path(__file__).parent
pytestmark = pytest.mark.slow


def config(space: Path, **kw: Any) -> SearchConfig:
    base: dict[str, Any] = {"space": str(space), "population": 2, "epochs": 2, "step": 1, "workers": 2,
                            "progress": False, "tensorboard": False}
    return resolve_task_options(SearchConfig.model_validate({**base, **kw}))


def test_a_population_that_fails_names_the_first_cause(ray_session: str, tmp_path: Path) -> None:
    # run_search skips the CLI's preflight: the 3-channel network meets the 1-channel digits in the workers
    space = compile_space(HERE / "spaces" / "image.nas", {"classes": "10"})
    cfg = config(HERE / "spaces" / "image.nas", task_options={"train_limit": 64})
    with pytest.raises(UserError) as err:
        run_search(cfg, space, tmp_path / "run", keep_workers=True)
    message = str(err.value)
    assert "every member of the population failed" in message
    assert "expected input[64, 1, 8, 8] to have 3 channels" in message and "log.txt" in message


def test_a_file_only_the_full_load_finds_broken_is_one_message(ray_session: str, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    write_png_folder(folder, classes=3, per_class=4)
    (folder / "class_2" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(UserError, match=r"the task cannot start: image .*3\.png cannot be decoded"):
        pbtnas.search(HERE / "spaces" / "image.nas", data=f"imagefolder:{folder}", population=2, epochs=1,
                      step=1, workers=2, progress=False, tensorboard=False, out=str(tmp_path / "run"))


def test_mnist1d_with_a_plugin_evaluate_load_and_resume(ray_session: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import sys

    from typer.testing import CliRunner

    from pbtnas.cli import app
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()  # the search's actors need the session's CPUs
    runner = CliRunner()
    run = tmp_path / "run"
    plugin = ["--plugin", "classify_plugin_ops"]
    searched = runner.invoke(app, ["search", str(HERE / "spaces" / "plugged.nas"), *plugin, "--preset", "mnist1d",
                                   "--population", "4", "--epochs", "2", "--step", "1", "--workers", "2",
                                   "--task-option", "epoch_samples=1000", "--no-progress", "--no-tensorboard",
                                   "--out", str(run)])
    assert searched.exit_code == 0, searched.output
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["plugins"] == ["classify_plugin_ops"] and cfg["task_options"]["data"] == "mnist1d"
    assert cfg["task_options"]["run_epochs"] == 2 and cfg["task_options"]["schedule"] == "cosine"

    evaluated = runner.invoke(app, ["evaluate", str(run), *plugin])
    assert evaluated.exit_code == 0, evaluated.output
    assert "test accuracy" in evaluated.output and "(1000 samples)" in evaluated.output
    best = json.loads((run / "final_metrics.json").read_text())["best"]
    confusion = best["confusion_matrix"]
    assert sum(map(sum, confusion)) == 1000 == best["test_samples"]
    assert best["test_accuracy"] == pytest.approx(sum(confusion[i][i] for i in range(10)) / 1000)
    assert best["test_accuracy"] > 0.2  # better than chance (0.1) after 2 epochs
    assert (run / "confusion_best.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    from pbtnas.tasks.commands import classify_test_scores

    assert pbtnas.test_accuracy(run, plugins=["classify_plugin_ops"]) == best["test_accuracy"]
    uid = json.loads((run / "best" / "info.json").read_text())["uid"]
    member = classify_test_scores(run, uid)  # the member best/ was saved from
    assert member["confusion_matrix"] == confusion and member["fitness"] == best["fitness"]
    others = [m["uid"] for m in pbtnas.load_run(run).final_members() if m["uid"] != uid]
    assert all(0 <= pbtnas.test_accuracy(run, u) <= 1 for u in others)

    # a run directory names its plugins but never imports them by itself
    monkeypatch.delitem(sys.modules, "classify_plugin_ops")
    for args in (["evaluate", str(run)], ["search", "--resume", str(run), "--no-progress"], ["soup", str(run)]):
        refused = runner.invoke(app, args)
        assert refused.exit_code == 2 and "--plugin classify_plugin_ops" in refused.output, (args, refused.output)
    with pytest.raises(UserError, match=r"plugins=\['classify_plugin_ops'\]"):
        pbtnas.load(run)

    # named again, the plugin passes --resume's checks (the resume itself stops before Ray here)
    monkeypatch.undo()
    from pbtnas.engine import commands

    class Stop(Exception):
        pass

    def stop(*args: Any, **kwargs: Any) -> None:
        raise Stop()

    monkeypatch.setattr(commands, "launch_pool", stop)
    resumed = runner.invoke(app, ["search", "--resume", str(run), *plugin, "--no-progress"])
    assert isinstance(resumed.exception, Stop), resumed.output


def test_the_sequence_spaces_search_through_the_cli(ray_session: str, tmp_path: Path) -> None:
    """spaces/mnist1d.nas on MNIST-1D, and spaces/vit.nas on a synthetic 32x32 image set written as npz."""
    import json

    import numpy as np
    from typer.testing import CliRunner

    from pbtnas.cli import app
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()  # the searches' actors need the session's CPUs
    root = HERE.parents[1]
    common = ["--population", "2", "--epochs", "1", "--step", "1", "--workers", "2", "--no-progress",
              "--no-tensorboard"]
    runner = CliRunner()
    m1 = runner.invoke(app, ["search", str(root / "spaces" / "mnist1d.nas"), "--preset", "mnist1d", *common,
                             "--task-option", "epoch_samples=400", "--out", str(tmp_path / "mnist1d")])
    assert m1.exit_code == 0, m1.output

    rng = np.random.default_rng(0)
    y = np.arange(60, dtype=np.int64) % 10
    x = (rng.random((60, 3, 32, 32), dtype=np.float32) * 0.2 + y[:, None, None, None] / 10).astype(np.float32)
    np.savez(tmp_path / "images.npz", x=x, y=y)
    vit = runner.invoke(app, ["search", str(root / "spaces" / "vit.nas"), "--data", f"npz:{tmp_path / 'images.npz'}",
                              *common, "--out", str(tmp_path / "vit")])
    assert vit.exit_code == 0, vit.output
    for run in ("mnist1d", "vit"):
        progress = json.loads((tmp_path / run / "progress.json").read_text())
        assert progress["complete"] and 0 <= progress["best_ever"]["fitness"] <= 1
