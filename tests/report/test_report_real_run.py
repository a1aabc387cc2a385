"""The report and the experiment runner on real searches of the classify task (population 4, 3 epochs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pbtnas.report.build import build_report
from pbtnas.report.experiment import plan, run_experiment
from pbtnas.report.lineage import origin_shares
from pbtnas.report.load import load_run
from pbtnas.engine.tensorboard import backfill

ROOT = Path(__file__).resolve().parents[2]


def _config(path: Path, algorithm: str) -> Path:
    path.write_text(
        f'space = "{(ROOT / "spaces" / "digits.nas").as_posix()}"\ntask = "classify"\nalgorithm = "{algorithm}"\n'
        "population = 4\nepochs = 3\nstep = 1\nseed = 5\n\n[task_options]\ntrain_limit = 300\n"
    )
    return path


@pytest.fixture(scope="module")
def experiment(ray_session: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], dict]:
    tmp = tmp_path_factory.mktemp("experiment")
    configs = [_config(tmp / "pbt.toml", "pbtnas"), _config(tmp / "rand.toml", "random")]
    out = tmp / "out"
    result = run_experiment(configs, 1, out, extra={"progress": False, "workers": 2}, say=lambda s: None)
    return out, configs, result


def test_experiment_runs_each_config_and_reports(experiment: tuple[Path, list[Path], dict]) -> None:
    out, configs, result = experiment
    runs = [Path(r) for r in result["runs"]]
    assert [r.relative_to(out).as_posix() for r in runs] == ["pbt/seed_5", "rand/seed_5"]
    for r in runs:
        assert json.loads((r / "progress.json").read_text())["complete"]
        assert json.loads((r / "config.json").read_text())["seed"] == 5
    md = (out / "report" / "report.md").read_text()
    assert "| PBT-NAS | digits · classify/digits · N=4 | 1 |" in md
    assert "| Random search | digits · classify/digits · N=4 | 1 |" in md
    assert "Statistical tests" in md and "PBT-NAS | Random search | 1 |" in md
    assert (out / "report" / "report.html").read_text().startswith("<!doctype html>")
    pngs = sorted(p.relative_to(out / "report").as_posix() for p in (out / "report").rglob("*.png"))
    assert len(pngs) == 8  # 2 runs x (fitness, origins, fitness vs parameters) + across: curves, final values
    for p in (out / "report").rglob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
    # resumable: a second call keeps the complete runs (no new timing entries)
    again = run_experiment(configs, 1, out, extra={"progress": False}, say=lambda s: None, report=False)
    assert again["timings"] == []
    assert [r.state() for r in plan(configs, 1, out)] == ["done", "done"]


def test_report_reads_the_engines_files_consistently(experiment: tuple[Path, list[Path], dict]) -> None:
    out, _, _ = experiment
    run_dir = out / "pbt" / "seed_5"
    run = load_run(run_dir)
    assert run.epochs == [0, 1, 2, 3] and run.complete and run.algorithm == "PBT-NAS"
    # lineage.json and the population files describe the same populations: the report's shares (one function with
    # the engine's, tested by hand in tests/engine) recomputed from each snapshot equal the engine's for that epoch
    engine = {h["epoch"]: {int(k): v for k, v in h["shares"].items()} for h in
              json.loads((run_dir / "lineage.json").read_text())}
    assert sorted(engine) == run.epochs
    genes = len(run.gene_names)
    for snap in run.snapshots:
        shares = origin_shares(snap["members"])
        assert shares == pytest.approx(engine[snap["epoch"]])
        # only initial members (uids 0..3) are origins, and each share is a whole number of the 4 x genes pairs
        assert set(shares) <= {0, 1, 2, 3} and sum(shares.values()) == pytest.approx(1.0)
        assert all(abs(v * 4 * genes - round(v * 4 * genes)) < 1e-9 for v in shares.values())
    assert engine[0] == {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25}  # before any mixing each member owns its own layers
    # the best of the final population is what the engine wrote to best/
    info = json.loads((run_dir / "best" / "info.json").read_text())
    assert run.final_fitness == pytest.approx(info["fitness"])
    assert run.final_members()[0]["uid"] == info["uid"]
    # N = 4 replaces one member per step, after steps 1 and 2 (not after the last): two children
    assert [ev["child_uid"] for _, ev in run.events()] == [4, 5]
    summary = build_report([run_dir], out / "single")
    assert summary["runs"][0]["final_fitness"] == pytest.approx(info["fitness"])
    text = (out / "single" / "report.md").read_text()
    assert f"best (member {info['uid']})" in text and "Lineage of the best member" in text
    assert backfill(run_dir) == 3  # one TensorBoard step per training step
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
