"""A pixel PBT-NAS search of spaces/drqv2.nas with the rl task, end to end on the CPU (N = 4, 2 steps), its exact
resume with replay snapshots, and `pbtnas evaluate RUN --episodes 1 --video best.mp4`.

The paper's space at laptop scale: the searched genes are the paper's 36, the widths are shrunk with --set (hidden
32, 4 filters, 32x32 pixels). Each member trains 2 x 1,000 frames (1,000 agent steps, 10 episodes of 2 s), every
agent step rendered. What makes that fit a test on a loaded 2-core machine are the task's own options: the tiny
preset's fast rendering (no shadows), 100 seed steps, batches of 16, an update every 4 agent steps, one evaluation
episode.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pbtnas.compiler import compile_space
from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.rundir import load_state

SPACE = Path(__file__).resolve().parents[2] / "spaces" / "drqv2.nas"

OPTIONS: dict[str, Any] = {
    "preset": "tiny",  # render_quality "fast"
    "env": "cartpole_swingup",
    "image_size": 32,
    "frames_per_epoch": 1000,  # 500 agent steps per member and step
    "time_limit": 2.0,  # 100 agent steps per episode
    "num_expl_steps": 100,
    "num_seed_steps": 100,
    "batch_size": 16,
    "update_every_steps": 4,
    "replay_capacity": 2000,
    "replay_checkpoint": True,
    "eval_episodes": 1,
    "video_format": "gif",
}


class CopyAfterFirstStep:
    """A progress sink that copies the run directory right after the first step is committed: the copy is what a
    run killed at that moment leaves on disk (its Ray stores die with it: the copy's run key names none)."""

    def __init__(self, run: Path, copy: Path) -> None:
        self.run, self.copy, self.steps = run, copy, 0

    def start(self, total: int, done: int) -> None: ...

    def member_done(self, step: Any, fitness: float | None) -> None: ...

    def step_done(self, step: Any, best: float, median: float) -> None:
        self.steps += 1
        if self.steps == 1:
            shutil.copytree(self.run, self.copy)

    def message(self, text: str) -> None: ...


def final_population(run: Path) -> list[tuple[int, list[int], list[list[float]]]]:
    last = json.loads(sorted((run / "population").glob("*.json"))[-1].read_text())
    return [(m["uid"], m["genome"], m["fitness"]) for m in last["members"]]


@pytest.mark.slow
@pytest.mark.usefixtures("rendering")
def test_tiny_pixel_search_end_to_end_exact_resume_and_video(ray_session: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pbtnas.cli import app
    from pbtnas.tasks.rl import RLOptions, space_overrides

    overrides = space_overrides(RLOptions(**OPTIONS))
    assert overrides == {"action_dim": "1", "obs_size": "32", "frames": "3", "hidden": "64", "filters": "8"}
    overrides.update(hidden="32", filters="4")  # what a user's --set does
    space = compile_space(SPACE, overrides=overrides)
    cfg = resolve_task_options(SearchConfig.model_validate({
        "space": str(SPACE), "overrides": overrides, "task": "rl", "task_options": OPTIONS, "population": 4,
        "epochs": 2, "step": 1, "seed": 0, "workers": 2, "progress": False,
    }))
    run, killed = tmp_path / "run", tmp_path / "killed"
    run_search(cfg, space, run, progress=CopyAfterFirstStep(run, killed))
    snaps = {int(p.stem.split("_")[1]): json.loads(p.read_text()) for p in (run / "population").glob("*.json")}
    assert sorted(snaps) == [0, 1, 2]
    assert len(snaps[1]["events"]) == 1  # one child replaced the worst member after the first step
    final = snaps[2]["members"]
    assert all(np.isfinite(m["fitness"][-1][1]) for m in final)  # fitness: [[epoch, value], ...]
    step2 = [e["metrics"] for e in snaps[2]["evaluated"]]
    # every member learned: 500 agent steps, updates every 4 steps once past the 100 seed steps
    assert all(m["updates"] == 125 and np.isfinite(m["critic_loss"]) for m in step2)
    assert sum(m["replay_forked"] for m in step2) == 1  # the child and its base: one of them got a fork
    assert sum(m["replay_restored"] for m in step2) == 0  # uninterrupted: every store was where it was left
    videos = sorted((run / "workdirs" / "videos").glob("*.gif"))
    assert len(videos) >= 8  # every member evaluated twice, the first episode filmed each time
    # the global agent step continued across both steps, children included (a child starts from the base's step)
    ck = sorted((run / "checkpoints").glob("epoch_*"))[-1]
    for path in ck.glob("member_*.pt"):
        state = load_state(path)
        assert state["meta"]["step"] == 1000 and state["meta"]["frames"] == 2000  # 2,000 frames per member
        assert set(state["shadows"]["target"]) == {k for k in state["model"] if k.startswith("critic.")}
        snapshot = run / "workdirs" / "replay" / state["meta"]["replay"]["snapshot"]
        assert snapshot.exists() and state["meta"]["replay"]["total"] == 1010  # 1,000 steps + 10 resets

    # the run killed after its first step resumes in a new Ray world (no stores): the snapshots are restored and
    # it ends exactly like the uninterrupted run
    assert json.loads((killed / "progress.json").read_text())["epoch"] == 1
    run_search(cfg, space, killed, resume=True)
    assert final_population(killed) == final_population(run)
    resumed = [e["metrics"] for e in json.loads((killed / "population" / "epoch_0002.json").read_text())["evaluated"]]
    assert sum(m["replay_restored"] for m in resumed) == 3 and sum(m["replay_forked"] for m in resumed) == 1
    assert json.loads((killed / "best" / "info.json").read_text())["fitness"] == json.loads(
        (run / "best" / "info.json").read_text())["fitness"]

    # `pbtnas evaluate RUN --episodes 1 --video best.mp4`: a fresh episode of the saved best network, filmed
    video = tmp_path / "best.mp4"
    result = CliRunner().invoke(app, ["evaluate", str(run), "--episodes", "1", "--video", str(video), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "over 1 episodes" in result.output and f"video {video}" in result.output
    import imageio.v2 as imageio
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(video))
    assert frames == 101  # the reset frame and 100 agent steps of a 2 s episode
    with imageio.get_reader(video, format="FFMPEG") as reader:
        first = reader.get_data(0)
    assert first.shape == (32, 32, 3) and first.std() > 0  # the agent's own view, not a blank image
    best = json.loads((run / "final_metrics.json").read_text())["best"]
    assert best["episodes"] == 1 and np.isfinite(best["mean_return"]) and best["video"] == str(video)
    # both runs' replay stores were freed when they finished (they are detached Ray actors)
    import ray

    from pbtnas.tasks.rl.task import _run_key

    keys = {_run_key(run / "workdirs"), _run_key(killed / "workdirs")}
    names = [n["name"] if isinstance(n, dict) else n for n in ray.util.list_named_actors(all_namespaces=True)]
    assert not [n for n in names if n.startswith("pbtnas-replay/") and n.split("/")[1] in keys]
