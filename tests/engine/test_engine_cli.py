"""The command line: clean errors without Ray, and a real search of spaces/digits.nas through `pbtnas search`
(joining the session's Ray), then `pbtnas soup` and `pbtnas.load`."""

from __future__ import annotations

import json
import os
import subprocess
import time
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import pbtnas
from pbtnas.cli import app
from pbtnas.tasks.classify.data import load_digits_split

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_user_errors_are_one_clean_message(tmp_path: Path) -> None:
    cases = [
        (["search", "missing.nas", "--no-progress"], "space file not found"),
        (["search", "x.nas", "--population", "0"], "population"),
        (["search", "x.nas", "--shrink-perturb", "0.4"], "LAMBDA,GAMMA"),
        (["search", "x.nas", "--algorithm", "random", "--mix-with-self"], "mix_with_self"),
        (["search", "x.nas", "--step-schedule", "150-20"], "UNTIL_EPOCH:STEP"),
        (["search", "x.nas", "--task", "nope"], "unknown task"),
        (["search", "x.nas", "--task-option", "batch_size=-1"], "batch_size"),
        (["search", "--resume", str(tmp_path)], "that can be resumed"),
        (["soup", str(tmp_path)], "not a pbtnas run directory"),
        (["search", "--resume", str(tmp_path / "fake"), "--population", "5"], "only execution options"),
    ]
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "config.json").write_text("{}")
    (tmp_path / "fake" / "progress.json").write_text("{}")
    (tmp_path / "x.nas").write_text("space x\n")
    for args, needle in cases:
        args = [str(tmp_path / a) if a == "x.nas" else a for a in args]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_config_file_is_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text('space = "x.nas"\npopulaton = 4\n')
    result = runner.invoke(app, ["search", "--config", str(cfg)])
    assert result.exit_code == 2 and "popula" in result.output and "Extra inputs" in result.output


@pytest.mark.slow
def test_search_soup_and_load_digits_through_the_cli(ray_session: str, tmp_path: Path) -> None:
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()  # the subprocess's actors need the session's CPUs
    run = tmp_path / "digits-run"
    config = tmp_path / "run.toml"
    config.write_text("population = 4\nepochs = 4\nstep = 2\nseed = 1\n[task_options]\nlr = 0.003\n")
    cmd = [sys.executable, "-m", "pbtnas.cli", "search", str(ROOT / "spaces" / "digits.nas"), "--config",
           str(config), "--out", str(run), "--address", ray_session, "--no-progress", "--workers", "2"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr[-3000:]
    assert "best fitness" in done.stdout
    # where the time went: printed in one line and kept in the run directory, phases summing to the process's wall
    timings = json.loads((run / "timings.json").read_text())
    names = [p["name"] for p in timings["phases"]]
    for phase in ("imports", "config and compile", "ray start", "actor start", "initial population", "step 1",
                  "step 2", "final export", "shutdown"):
        assert phase in names, names
    total = sum(p["seconds"] for p in timings["phases"])
    assert abs(total - timings["total_seconds"]) < 0.01
    assert 0.75 * wall - 0.5 < total <= wall, (total, wall)  # what is left: the interpreter's start and exit
    assert f"= {total:.1f} s" in done.stdout and "timings: imports" in done.stdout
    config_json = json.loads((run / "config.json").read_text())
    assert config_json["population"] == 4 and config_json["task_options"]["data_seed"] == 1
    module, genome = pbtnas.load(run)
    data = load_digits_split(1, 0.25)
    with torch.no_grad():
        accuracy = float((module.classifier(data.x_val).argmax(1) == data.y_val).float().mean())
    assert accuracy == json.loads((run / "best" / "info.json").read_text())["fitness"]
    assert accuracy > 0.6  # a real classifier after 4 epochs (chance is 0.1)
    soup = runner.invoke(app, ["soup", str(run)])
    assert soup.exit_code == 0, soup.output
    info = json.loads((run / "soup" / "info.json").read_text())
    assert info["fitness"] >= info["best_member_fitness"] and info["ingredients"][0] == info["candidates"][0]
    soup_module, soup_genome = pbtnas.load(run, "soup")
    assert soup_genome.values == genome.values
    # live TensorBoard curves, one per member, tagged by member id and genome hash
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    fitness_tags = [t for t in events.Tags()["scalars"] if "fitness" in t]
    assert fitness_tags and any("member" in t for t in fitness_tags)
    # pbtnas evaluate re-measures every saved network from the run directory alone
    evaluated = runner.invoke(app, ["evaluate", str(run)])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((run / "final_metrics.json").read_text())
    assert set(metrics) == {"best", "best_ever", "soup"}
    assert metrics["best"]["fitness"] == accuracy
    assert metrics["soup"]["fitness"] == info["fitness"]
    assert metrics["best"]["genome"] == json.loads((run / "best" / "genome.json").read_text())["choices"]
    # image grids come from GAN runs only: a clear message, exit 1
    sampled = runner.invoke(app, ["sample", str(run)])
    assert sampled.exit_code == 2 and "draws images from a GAN run" in sampled.output


def test_explicit_preset_supplies_the_engine_settings_the_user_did_not_give() -> None:
    from pbtnas.engine.commands import apply_preset_engine_settings

    paper = apply_preset_engine_settings({"task": "gan", "task_options": {"preset": "paper"}})
    assert (paper["population"], paper["epochs"], paper["step"]) == (24, 300, 10)
    mine = apply_preset_engine_settings({"task": "gan", "task_options": {"preset": "paper"}, "population": 6})
    assert mine["population"] == 6 and mine["epochs"] == 300
    assert apply_preset_engine_settings({"task": "gan"}) == {"task": "gan"}  # no preset: engine defaults
