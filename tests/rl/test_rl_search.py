"""A pixel PBT-NAS search of spaces/drqv2.nas with the rl task, end to end on the CPU (N = 4, 2 steps).

The paper's space at laptop scale: the searched genes are the paper's 36, the widths are shrunk with --set
(hidden 32, 4 filters, 32x32 pixels) so that four agents train for two steps (400 frames each) in about a minute on an idle 2-core machine.
"""

from __future__ import annotations

import json
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
    "preset": "tiny",
    "env": "cartpole_swingup",
    "image_size": 32,
    "frames_per_epoch": 200,  # 100 agent steps per member and step
    "time_limit": 1.0,  # 50 agent steps per episode
    "num_expl_steps": 50,
    "num_seed_steps": 50,
    "batch_size": 16,
    "replay_capacity": 2000,
    "eval_episodes": 1,
    "video_format": "gif",
}


@pytest.mark.slow
def test_tiny_pixel_search_runs_end_to_end_and_writes_videos(ray_session: str, tmp_path: Path) -> None:
    from pbtnas.tasks.rl import RLOptions, space_overrides

    overrides = space_overrides(RLOptions(**OPTIONS))
    assert overrides == {"action_dim": "1", "obs_size": "32", "frames": "3", "hidden": "64", "filters": "8"}
    overrides.update(hidden="32", filters="4")  # what a user's --set does
    space = compile_space(SPACE, overrides=overrides)
    cfg = resolve_task_options(SearchConfig.model_validate({
        "space": str(SPACE), "overrides": overrides, "task": "rl", "task_options": OPTIONS, "population": 4,
        "epochs": 2, "step": 1, "seed": 0, "workers": 2, "progress": False,
    }))
    run = tmp_path / "run"
    run_search(cfg, space, run)
    snaps = {int(p.stem.split("_")[1]): json.loads(p.read_text()) for p in (run / "population").glob("*.json")}
    assert sorted(snaps) == [0, 1, 2]
    assert len(snaps[1]["events"]) == 1  # one child replaced the worst member after the first step
    final = snaps[2]["members"]
    assert all(np.isfinite(m["fitness"][-1][1]) for m in final)  # fitness: [[epoch, value], ...]
    videos = sorted((run / "workdirs" / "videos").glob("*.gif"))
    assert len(videos) >= 8  # every member evaluated twice, the first episode filmed each time
    # the global agent step continued across both steps, children included (a child starts from the base's step)
    ck = sorted((run / "checkpoints").glob("epoch_*"))[-1]
    for path in ck.glob("member_*.pt"):
        state = load_state(path)
        assert state["meta"]["step"] == 200 and state["meta"]["frames"] == 400
        assert set(state["shadows"]["target"]) == {k for k in state["model"] if k.startswith("critic.")}
    # `pbtnas evaluate RUN --episodes N --video V`: fresh episodes of the saved best network, the first one filmed
    from pbtnas.tasks.commands import evaluate_run

    results = evaluate_run(run, episodes=2, video=tmp_path / "best.gif", seed=5, which=["best"])
    best = results["best"]
    assert best["episodes"] == 2 and len(best["returns"]) == 2 and np.isfinite(best["mean_return"])
    assert (tmp_path / "best.gif").stat().st_size > 0
    assert json.loads((run / "final_metrics.json").read_text())["best"]["mean_return"] == best["mean_return"]
    # the run's replay stores were freed when it finished (they are detached Ray actors)
    import ray

    assert not [n for n in ray.util.list_named_actors(all_namespaces=True)
                if "pbtnas-replay" in (n["name"] if isinstance(n, dict) else n)]
