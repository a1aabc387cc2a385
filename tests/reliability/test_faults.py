"""Faults a long search survives, each injected for real (issue 7, docs/faults.md):

* the driver process SIGKILLed at a dozen points of its persistence (mid-write of a checkpoint, between commit
  steps, while pruning, while exporting best/, while initialising), then resumed: same genomes, fitness and
  best/info.json as one uninterrupted reference run;
* a truncated or corrupted checkpoint, population file or progress.json: named, and the run resumes from the last
  intact step with its bookkeeping as it was; no intact step: one diagnostic from the CLI; a damaged best/ is
  refused by ``pbtnas.load``;
* the disk filling up (a real tmpfs) while a step is written: a clear CLI error, the previous step intact, and
  ``--resume`` completes once space is back;
* a member whose training loss becomes NaN: failed, replaced, the run goes on;
* a worker process SIGKILLed from outside while it trains: the member is retrained from its checkpoint.

Every search runs on the session's Ray with the tiny space double (tests/engine/engine_double.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ENGINE_TESTS = HERE.parent / "engine"
ROOT = HERE.parents[1]
# Ray workers inherit PYTHONPATH from the session's Ray, which starts after collection: make the task doubles of
# this folder importable by them now.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)
for _p in (str(HERE), str(ENGINE_TESTS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from engine_double import DoubleSpace  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import pbtnas  # noqa: E402
from pbtnas.cli import app  # noqa: E402
from pbtnas.engine import commands  # noqa: E402
from pbtnas.engine.commands import resolve_task_options  # noqa: E402
from pbtnas.engine.config import SearchConfig  # noqa: E402
from pbtnas.engine.loading import LoadError  # noqa: E402
from pbtnas.engine.rundir import RunDir, RunDirError  # noqa: E402

SPACE = DoubleSpace(n_layers=3, width=16)
cli = CliRunner()


def config(**kw: Any) -> SearchConfig:
    # Half a CPU per actor: the test process keeps 2 actors (1 CPU) and a subprocess driver gets the other CPU.
    base: dict[str, Any] = {"space": "double", "population": 4, "epochs": 6, "step": 2, "seed": 11, "workers": 2,
                            "cpus_per_member": 0.5, "progress": False, "tensorboard": False,
                            "keep_best_ever_population": True,
                            "task_options": {"train_limit": 160, "lr": 0.01}}
    base.update(kw)
    return resolve_task_options(SearchConfig.model_validate(base))


class Messages:
    """A progress sink that keeps the messages the driver shows the user."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def start(self, total: int, done: int) -> None: ...
    def member_done(self, step: Any, fitness: float | None) -> None: ...
    def step_done(self, step: Any, best: float, median: float) -> None: ...
    def message(self, text: str) -> None:
        self.texts.append(text)


def search(cfg: SearchConfig, run: Path, resume: bool = False, progress: Any = None) -> Any:
    return commands.run_search(cfg, SPACE, run, resume=resume, progress=progress, keep_workers=True)


def outcome(run: Path) -> dict[str, Any]:
    """What must not depend on interruptions: final genomes, fitness and lineage, best/info.json, the driver's
    bookkeeping in progress.json and lineage.json."""
    progress = json.loads((run / "progress.json").read_text())
    last = json.loads((run / "population" / f"epoch_{progress['epoch']:04d}.json").read_text())
    kept = run / "best_ever_population"
    return {
        "best_ever_population": {d.name: json.loads((d / "population.json").read_text())
                                 for d in sorted(kept.iterdir())} if kept.exists() else None,
        "members": [(m["uid"], m["genome"], m["fitness"], m["lineage"], m["status"]) for m in last["members"]],
        "best": json.loads((run / "best" / "info.json").read_text()),
        "progress": {k: progress[k] for k in ("epoch", "next_uid", "best_ever", "failures", "complete")},
        "lineage": json.loads((run / "lineage.json").read_text()),
    }


@pytest.fixture(scope="module")
def reference(ray_session: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("faults") / "uninterrupted"
    search(config(), run)
    return run


# the driver killed --------------------------------------------------------------------------------------------

# (target, path substring, k-th matching call, mode); commits happen at epochs 0 (initialisation), 2, 4 and 6.
KILL_POINTS: dict[str, dict[str, Any]] = {
    "init-mid-checkpoint-write": {"target": "write", "match": ".epoch_0000.partial/member_02.pt", "mode": "half"},
    "init-after-checkpoint-commit": {"target": "commit", "match": "checkpoints/epoch_0000", "mode": "after"},
    "mid-checkpoint-write": {"target": "write", "match": ".epoch_0004.partial/member_01.pt", "mode": "half"},
    "checkpoint-commit-then-population": {"target": "commit", "match": "checkpoints/epoch_0004", "mode": "after"},
    "mid-population-write": {"target": "write", "match": "population/epoch_0002.json", "mode": "half"},
    "population-then-manifest": {"target": "write", "match": "epoch_0004/manifest.json", "mode": "before"},
    "manifest-then-progress": {"target": "write", "match": "progress.json", "k": 3, "mode": "before"},
    "mid-progress-write": {"target": "write", "match": "progress.json", "k": 2, "mode": "half"},
    "progress-then-prune": {"target": "prune", "match": "checkpoints", "k": 3, "mode": "before"},
    "mid-prune": {"target": "rmtree", "match": "checkpoints/epoch_0002", "mode": "partial"},
    "mid-best-ever-export": {"target": "write", "match": ".best_ever.partial/model.pt", "mode": "half"},
    "mid-best-ever-population-write": {"target": "write", "match": "best_ever_population/.epoch_0002.partial/member_01",
                                       "mode": "half"},
    "best-ever-population-then-checkpoints": {"target": "replace", "match": "best_ever_population/epoch_0002",
                                              "mode": "after"},
    "mid-final-best-export": {"target": "write", "match": ".best.partial/info.json", "mode": "before"},
}


# The step each kill leaves as the last committed one (None: initialisation never committed).
RESUME_FROM: dict[str, int | None] = {
    "init-mid-checkpoint-write": None, "init-after-checkpoint-commit": None, "mid-checkpoint-write": 2,
    "checkpoint-commit-then-population": 2, "mid-population-write": 0, "population-then-manifest": 2,
    "manifest-then-progress": 2, "mid-progress-write": 0, "progress-then-prune": 4, "mid-prune": 6,
    "mid-best-ever-export": 0, "mid-final-best-export": 6, "mid-best-ever-population-write": 0,
    "best-ever-population-then-checkpoints": 0,
}


def run_killed_driver(ray_address: str, run: Path, spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    # One actor of a quarter CPU: four such drivers fit beside the test process's actors in the session's 2 CPUs
    # (execution options: they change nothing a run computes).
    cfg = config(workers=1, cpus_per_member=0.25)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ENGINE_TESTS), os.environ["PYTHONPATH"]])}
    return subprocess.run(
        [sys.executable, str(HERE / "kill_driver.py"), ray_address, str(run), json.dumps(cfg.model_dump(mode="json")),
         json.dumps(spec)],
        env=env, capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="module")
def killed_runs(
    ray_session: str, reference: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every kill point's driver, four at a time: starting a driver and its actor (a Python process importing
    torch) is most of the cost of a kill, and they mostly wait on each other's imports."""
    root = tmp_path_factory.mktemp("killed")
    runs = {point: root / point for point in KILL_POINTS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = dict(zip(KILL_POINTS, pool.map(lambda p: run_killed_driver(ray_session, runs[p], KILL_POINTS[p]),
                                               KILL_POINTS), strict=True))
    return {point: (runs[point], procs[point]) for point in KILL_POINTS}


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_driver_sigkilled_then_resumed_ends_as_the_uninterrupted_run(
    killed_runs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]], reference: Path, point: str
) -> None:
    spec = KILL_POINTS[point]
    run, proc = killed_runs[point]
    assert proc.returncode == -signal.SIGKILL, f"not killed at {spec}: rc {proc.returncode}\n{proc.stderr[-3000:]}"
    if spec["mode"] == "half":  # the partially written temporary file is really there
        assert list(run.rglob(".*.tmp")), "no partially written temporary file"
    resume_point = RunDir(run).find_resume_point()
    if RESUME_FROM[point] is None:
        assert resume_point is None
    else:  # a kill is never mistaken for damage
        assert resume_point is not None and (resume_point.epoch, resume_point.problems) == (RESUME_FROM[point], [])
    search(config(), run, resume=True)
    expected = outcome(reference)
    assert outcome(run) == expected
    _, genome = pbtnas.load(run)  # checksums verified
    assert list(genome.values) == expected["members"][expected["best"]["slot"]][1]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_0004", "epoch_0006"]
    assert not list(run.rglob("*.tmp")) and not list(run.glob(".best*"))  # nothing half-written is left
    assert not list((run / "best_ever_population").glob(".*"))


# members and workers ------------------------------------------------------------------------------------------


def test_member_whose_training_loss_becomes_nan_is_failed_and_replaced(ray_session: str, tmp_path: Path) -> None:
    """NaN in the training loss (the task's own check raises MemberFailed). Fitness NaN and a raising training are
    tests/engine/test_engine_search.py::test_a_failing_member_is_marked_and_replaced_and_the_run_goes_on."""
    run = tmp_path / "run"
    opts = {"train_limit": 160, "lr": 0.01, "nan_loss_gene0": 3, "fail_at_epoch": 2}  # uid 1 (seed 11)
    summary = search(config(task="fault_tasks:FaultTask", task_options=opts), run)
    snaps = {e: json.loads((run / "population" / f"epoch_{e:04d}.json").read_text()) for e in (2, 4, 6)}
    failed = [e for e in snaps[4]["evaluated"] if e["status"] == "failed"]
    assert [e["uid"] for e in failed] == [1] and failed[0]["fitness"] == "-inf"
    assert {m["uid"]: m for m in snaps[2]["members"]}[1]["genome"][0] == 3
    assert {e["slot"] for e in failed} <= {ev["slot"] for ev in snaps[4]["events"]}  # replaced at that selection
    assert all(m["status"] == "ok" for m in snaps[6]["members"])
    assert summary.failures == len(failed)
    assert "loss became nan" in (run / "log.txt").read_text()


@pytest.mark.slow
def test_worker_sigkilled_while_training_is_restarted_from_its_checkpoint(
    ray_session: str, reference: Path, tmp_path: Path
) -> None:
    signals = tmp_path / "signals"
    signals.mkdir()
    import ray

    assert commands._KEPT_POOLS, "runs before the CLI tests, which stop the kept actors"
    pool = next(iter(commands._KEPT_POOLS.values()))  # the actors the reference run left running
    pids = set(ray.get([a.ping.remote() for a in pool.actors]))
    killed: list[int] = []

    def kill_the_training_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for marker in signals.glob("training_*"):
                pid = int(marker.name.split("_")[1])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_training_worker, daemon=True)
    killer.start()
    opts = {"train_limit": 160, "lr": 0.01, "signal_dir": str(signals), "fail_at_epoch": 2}
    run = tmp_path / "run"
    summary = search(config(task="fault_tasks:FaultTask", task_options=opts), run)
    killer.join(timeout=5)
    assert len(killed) == 1 and killed[0] in pids  # a worker of the pool, killed from outside
    assert summary.restarts == 1 and summary.failures == 0
    assert outcome(run)["members"] == outcome(reference)["members"]  # every member accounted for, as uninterrupted


# damaged files ------------------------------------------------------------------------------------------------


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def change_a_digit(path: Path) -> None:
    """Still valid JSON, only a fitness digit differs: what a checksum, not a parser, catches."""
    text = path.read_text()
    i = text.index('"fitness": [') + len('"fitness": [')
    j = next(k for k in range(i, len(text)) if text[k] in "123456789")
    path.write_text(text[:j] + ("1" if text[j] != "1" else "2") + text[j + 1 :])


DAMAGE = {
    "truncated-checkpoint": ("checkpoints/epoch_0006/member_01.pt", truncate, 4),
    "flipped-byte-checkpoint": ("checkpoints/epoch_0006/member_02.pt", flip_byte, 4),
    "edited-population-file": ("population/epoch_0006.json", change_a_digit, 4),
    "truncated-progress": ("progress.json", truncate, 6),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_latest_step_is_named_and_the_run_resumes_from_the_last_intact_step(
    ray_session: str, reference: Path, tmp_path: Path, damage: str
) -> None:
    rel, damage_file, resume_epoch = DAMAGE[damage]
    run = tmp_path / "damaged"
    shutil.copytree(reference, run)
    damage_file(run / rel)
    point = RunDir(run).find_resume_point()
    assert point is not None and point.epoch == resume_epoch
    assert any(p.startswith(rel) for p in point.problems), point.problems
    if rel != "progress.json":  # the fallback step is restored with what the driver kept at that step
        assert point.manifest["state"]["lineage_history"] == outcome(reference)["lineage"][: resume_epoch // 2 + 1]
        kept = json.loads((reference / "checkpoints/epoch_0004/manifest.json").read_text())["state"]["progress"]
        assert point.manifest["state"]["progress"] == kept and kept["epoch"] == 4
    messages = Messages()
    search(config(), run, resume=True, progress=messages)
    assert any(rel in t for t in messages.texts), messages.texts
    assert f"resuming from epoch {resume_epoch}" in " ".join(messages.texts)
    assert rel in (run / "log.txt").read_text()
    assert outcome(run) == outcome(reference)


@pytest.mark.slow
def test_no_intact_step_is_one_diagnostic_from_the_cli(ray_session: str, reference: Path, tmp_path: Path) -> None:
    run = tmp_path / "ruined"
    shutil.copytree(reference, run)
    truncate(run / "checkpoints/epoch_0006/member_00.pt")
    (run / "checkpoints/epoch_0004/manifest.json").write_text("{")
    with pytest.raises(RunDirError):
        RunDir(run).find_resume_point()
    result = cli.invoke(app, ["search", "--resume", str(run), "--no-progress", "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert "no intact step" in result.output
    assert "checkpoints/epoch_0006/member_00.pt" in result.output and "epoch_0004/manifest.json" in result.output
    assert "Traceback" not in result.output


def test_load_refuses_a_damaged_best_folder(reference: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    pbtnas.load(run, "best_ever")
    flip_byte(run / "best" / "model.pt")
    with pytest.raises(LoadError, match="best/model.pt: checksum mismatch"):
        pbtnas.load(run)


# disk full ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(path: Path) -> Iterator[bool]:
    """A real 16 MiB tmpfs at ``path`` (True) when this process may mount one, else a plain folder (False)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.slow
def test_disk_full_while_writing_a_step(
    ray_session: str, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up as step 4 is written: the CLI says which file and which step is intact, exits 2 without a
    traceback, step 2 stays intact, and --resume finishes the run once space is freed."""
    import errno

    from pbtnas.engine import rundir

    with small_filesystem(tmp_path / "disk") as mounted:
        run = tmp_path / "disk" / "run"
        ballast = tmp_path / "disk" / "ballast"
        real_staging = RunDir.staging_dir

        def fill_then_stage(self: RunDir, epoch: int) -> Path:
            if epoch == 4 and not ballast.exists():
                if mounted:  # fill the real filesystem: the writes below fail with the kernel's ENOSPC
                    with open(ballast, "wb") as f, contextlib.suppress(OSError):
                        while True:
                            f.write(b"\0" * (1 << 20))
                            f.flush()
                else:  # no mount here: every write of the run fails as ENOSPC would make it
                    ballast.write_bytes(b"")

                    def full(self: Any, data: bytes) -> int:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

                    monkeypatch.setattr(rundir._HashingWriter, "write", full)
            return real_staging(self, epoch)

        monkeypatch.setattr(RunDir, "staging_dir", fill_then_stage)
        monkeypatch.setattr(commands, "compile_space_for", lambda cfg: SPACE)  # the double instead of a .nas file
        cfg = config(workers=1)  # one actor per CLI run: starting actors is most of this test's time
        args = ["search", "--config", str(write_toml(tmp_path / "run.toml", cfg, run))]
        result = cli.invoke(app, args)
        assert result.exit_code == 2, result.output
        out = " ".join(result.output.split())
        assert "No space left on device" in out and ".epoch_0004.partial/member_00.pt" in out, out
        assert "last intact step of the run: epoch 2" in out and "free space, then `pbtnas search --resume" in out
        assert "Traceback" not in result.output
        assert json.loads((run / "progress.json").read_text())["epoch"] == 2
        manifest, problems = RunDir(run).verify_step(2)
        assert manifest is not None and problems == []
        assert not list((run / "checkpoints").glob(".epoch_*.partial"))  # the half-written step was removed

        ballast.unlink()  # space is back
        monkeypatch.undo()
        result = cli.invoke(app, ["search", "--resume", str(run), "--no-progress"])
        assert result.exit_code == 0, result.output
        assert outcome(run) == outcome(reference)


def write_toml(path: Path, cfg: SearchConfig, run: Path) -> Path:
    """The test's configuration as a --config file."""
    lines = []
    for key, value in cfg.model_dump(mode="json").items():
        if value is None or key in ("space", "task_options", "overrides", "step_schedule", "out"):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    lines.append('space = "double"')
    lines.append(f"out = {json.dumps(str(run))}")
    lines.append("[task_options]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in cfg.task_options.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_resume_point_of_a_run_never_committed_and_of_a_run_without_checksums(reference: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    progress = json.loads((run / "progress.json").read_text())
    legacy = {k: v for k, v in progress.items() if k not in ("sha256", "manifest", "manifest_sha256")}
    (run / "progress.json").write_text(json.dumps(legacy))  # as an older pbtnas wrote it, without manifests
    for manifest in run.glob("checkpoints/*/manifest.json"):
        manifest.unlink()
    point = RunDir(run).find_resume_point()
    assert point is not None and point.legacy and point.epoch == 6 and point.problems == []
    assert point.manifest["state"]["progress"]["next_uid"] == progress["next_uid"]
    (run / "progress.json").unlink()  # killed before its first commit
    shutil.rmtree(run / "checkpoints")
    assert RunDir(run).find_resume_point() is None
