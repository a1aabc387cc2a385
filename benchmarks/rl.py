"""RL benchmark: seconds per rendered 84x84 frame with the chosen GL backend, environment frames/s (pixels, state),
DrQ-v2 updates/s on the CPU, replay memory of N agents with private buffers vs one shared buffer, the cost of a
replay snapshot (replay_checkpoint), and a learning curve of one state-based agent.

    .venv/bin/python benchmarks/rl.py                 # everything but the curve (a few minutes)
    .venv/bin/python benchmarks/rl.py --curve 200000  # also train one agent for 200k frames and record the curve
    .venv/bin/python benchmarks/rl.py --only curve --curve 100000

Results are merged into benchmarks/results/rl.json (sections you did not run are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _machine import cpu_model  # benchmarks/ is sys.path[0] when this file runs
from pbtnas.tasks.rl import gl
from pbtnas.tasks.rl.agent import Agent, AgentConfig
from pbtnas.tasks.rl.env import make_env
from pbtnas.tasks.rl.reference import ReferenceSpace, build_reference
from pbtnas.tasks.rl.replay import EpisodeBuilder, ReplayConfig, ReplayStore

RESULTS = Path(__file__).parent / "results" / "rl.json"


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }  # the rendering backend is recorded by the sections that render (gl_backend)


def render_frames(name: str, size: int, frames: int) -> dict[str, Any]:
    """Seconds per rendered frame (the agent's camera, as the env renders it at each step), full and fast quality,
    with the backend pbtnas chooses here; and what choosing it cost (every candidate probed afresh)."""
    t0 = time.perf_counter()
    choice = gl.choose_backend(environ={})  # probes even where MUJOCO_GL is set: what a fresh machine pays
    probe_s = time.perf_counter() - t0
    result: dict[str, Any] = {"gl_backend": gl.configure_gl(), "gl_source": gl.current_choice().source,
                              "probe_s": probe_s, "probed": [[p.backend, p.ok, p.detail] for p in choice.tried],
                              "env": name, "size": size, "frames": frames, "loadavg_before": os.getloadavg()}
    for quality in ("full", "fast"):
        env = make_env(name, obs_mode="pixels", seed=0, size=size, render_quality=quality)  # type: ignore[arg-type]
        try:
            env.reset()
            render = env._render  # the env's own per-step render function (one cached Camera)
            assert render is not None
            times = []
            for _ in range(frames):
                t = time.perf_counter()
                image = render()
                times.append(time.perf_counter() - t)
            assert image.shape == (size, size, 3) and image.std() > 0
        finally:
            env.close()
        result[f"{quality}_s_per_frame_median"] = float(np.median(times))
        result[f"{quality}_s_per_frame_mean"] = float(np.mean(times))
    result["loadavg_after"] = os.getloadavg()
    return result


def env_fps(name: str, obs: str, steps: int) -> dict[str, float]:
    env = make_env(name, obs_mode=obs, seed=0)
    rng = np.random.default_rng(0)
    try:
        ts = env.reset()
        t0 = time.perf_counter()
        for _ in range(steps):
            if ts.last:
                ts = env.reset()
            ts = env.step(rng.uniform(-1, 1, env.action_dim))
        elapsed = time.perf_counter() - t0
    finally:
        env.close()
    return {"frames_per_s": steps * env.action_repeat / elapsed, "agent_steps_per_s": steps / elapsed}


def _space_model(action_dim: int, seed: int) -> torch.nn.Module:
    """A random genome of spaces/drqv2.nas at paper width (the searched networks the paper trains)."""
    from pbtnas.compiler import compile_space

    space = compile_space(Path(__file__).parents[1] / "spaces" / "drqv2.nas", overrides={"action_dim": str(action_dim)})
    return space.build(space.random_genome(np.random.default_rng(seed)), seed=seed)


def updates_per_s(obs: str, batch: int, n: int, hidden: int, feature_dim: int, space_seed: int | None = None
                  ) -> dict[str, float]:
    action_dim, state_dim = 6, 24  # walker
    if space_seed is not None:
        model = _space_model(action_dim, space_seed)
    else:
        model = build_reference(action_dim, obs=obs, state_dim=state_dim, hidden=hidden, feature_dim=feature_dim)
    agent = Agent(model, AgentConfig(batch_size=batch, aug_pad=4 if obs == "pixels" else 0))
    rng = np.random.default_rng(0)
    shape = (batch, 9, 84, 84) if obs == "pixels" else (batch, state_dim)

    def sample() -> dict[str, np.ndarray]:
        make = (lambda: rng.integers(0, 256, shape).astype(np.uint8)) if obs == "pixels" else (
            lambda: rng.standard_normal(shape).astype(np.float32))
        return {"obs": make(), "next_obs": make(), "action": rng.uniform(-1, 1, (batch, action_dim)).astype(np.float32),
                "reward": rng.random((batch, 1)).astype(np.float32), "discount": np.full((batch, 1), 0.97, np.float32)}

    agent.update(sample(), 10_000)  # warm-up
    batches = [sample() for _ in range(n)]
    t0 = time.perf_counter()
    for i, b in enumerate(batches):
        agent.update(b, 10_002 + 2 * i)
    elapsed = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    return {"updates_per_s": n / elapsed, "s_per_update": elapsed / n, "batch": batch, "params": params}


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def replay_memory(n_agents: int, capacity: int) -> dict[str, Any]:
    """Fill N private stores and one shared store with real rendered-size episodes; report bytes and RSS growth."""
    cfg = ReplayConfig(capacity=capacity, frame_shape=(3, 84, 84), frame_dtype="uint8", action_dim=6,
                       frame_stack=3, nstep=3, gamma=0.99)
    rng = np.random.default_rng(0)
    episode_len = 501  # a 1000-frame episode at action repeat 2, plus the reset step
    b = EpisodeBuilder(6)
    for _ in range(episode_len):
        b.append(rng.integers(0, 256, (3, 84, 84), dtype=np.uint8), rng.uniform(-1, 1, 6), 1.0, 1.0)
    episode = b.build()

    def fill(stores: list[ReplayStore], steps_each: int) -> None:
        written = 0
        while written < steps_each:
            for s in stores:
                s.add_episode(episode)
            written += episode_len

    rss0 = _rss()
    private = [ReplayStore(cfg) for _ in range(n_agents)]
    fill(private, capacity)
    rss_private = _rss() - rss0
    private_bytes = sum(s.nbytes() for s in private)
    del private
    rss0 = _rss()
    shared = ReplayStore(cfg)
    fill([shared], capacity)
    rss_shared = _rss() - rss0
    per_transition = shared.nbytes() / capacity
    stacked_obs = 2 * 9 * 84 * 84  # DrQ-v2 episode files keep obs and (via the next step) next_obs stacks
    return {
        "agents": n_agents,
        "capacity_per_buffer": capacity,
        "private_total_bytes": private_bytes,
        "private_rss_growth_bytes": rss_private,
        "shared_total_bytes": shared.nbytes(),
        "shared_rss_growth_bytes": rss_shared,
        "bytes_per_transition": per_transition,
        "drqv2_stacked_bytes_per_transition": 9 * 84 * 84 + 6 * 4 + 2 * 4,  # stacked obs, action, reward, discount
        "note": f"frames stored once, stacks rebuilt when sampling; a stacked obs alone is {stacked_obs // 2} bytes",
        "paper_scale_GB": {
            "private_12_agents_1e6": 12 * 1_000_000 * per_transition / 1e9,
            "shared_1e6": 1_000_000 * per_transition / 1e9,
        },
    }


def replay_snapshot(capacity: int, directory: Path) -> dict[str, Any]:
    """replay_checkpoint's cost: save and restore a full pixel store (84x84, walker's A = 6) through a file."""
    cfg = ReplayConfig(capacity=capacity, frame_shape=(3, 84, 84), frame_dtype="uint8", action_dim=6,
                       frame_stack=3, nstep=3, gamma=0.99)
    rng = np.random.default_rng(0)
    b = EpisodeBuilder(6)
    for _ in range(501):
        b.append(rng.integers(0, 256, (3, 84, 84), dtype=np.uint8), rng.uniform(-1, 1, 6), 1.0, 1.0)
    episode = b.build()
    store = ReplayStore(cfg)
    while store.total < capacity:
        store.add_episode(episode)
    path = directory / "snapshot.npz"
    t0 = time.perf_counter()
    nbytes = store.save(path)  # fsynced, so this includes the disk
    save_s = time.perf_counter() - t0
    other = ReplayStore(cfg)
    t0 = time.perf_counter()
    other.restore(path)
    restore_s = time.perf_counter() - t0
    path.unlink()
    return {
        "transitions": len(store),
        "file_bytes": nbytes,
        "file_bytes_per_transition": nbytes / len(store),
        "memory_bytes_per_transition": store.nbytes() / capacity,
        "save_s": save_s,
        "restore_s": restore_s,
        "save_MB_per_s": nbytes / save_s / 1e6,
    }


def learning_curve(env: str, frames: int, hidden: int, seed: int) -> dict[str, Any]:
    """One state-based agent (the DrQ-v2 reference networks, hidden ``hidden``) evaluated after every epoch."""
    from pbtnas.tasks.rl.task import RLTask

    opts = {"preset": "tiny", "env": env, "obs": "state", "video": False, "eval_episodes": 5, "torch_threads": 1}
    from pbtnas.tasks.rl.options import RLOptions
    from pbtnas.tasks.rl.task import env_spec

    with tempfile.TemporaryDirectory() as tmp:
        o = RLOptions(**opts)
        action_dim, (state_dim,) = env_spec(o)
        task = RLTask(ReferenceSpace(action_dim, obs="state", state_dim=state_dim, hidden=hidden), o, Path(tmp))
        # the random policy's return, as the floor to compare with
        rng = np.random.default_rng(seed)
        e = make_env(env, obs_mode="state", seed=seed)
        random_returns = []
        for _ in range(5):
            ts, total = e.reset(), 0.0
            while not ts.last:
                ts = e.step(rng.uniform(-1, 1, e.action_dim))
                total += ts.reward
            random_returns.append(total)
        e.close()
        state = task.new_member(None, seed)
        epochs = max(1, frames // o.frames_per_epoch)
        curve = []
        t0 = time.perf_counter()
        for epoch in range(epochs):
            state, metrics = task.train(state, None, epoch, epoch + 1, seed=seed * 1000 + epoch)
            fitness = task.evaluate(state, None, seed=seed * 1000 + 500 + epoch)
            point = {"frames": (epoch + 1) * o.frames_per_epoch, "eval_return": fitness,
                     "train_return": metrics.get("train_return"), "wall_s": time.perf_counter() - t0}
            curve.append(point)
            print(json.dumps(point), flush=True)
    return {
        "env": env, "obs": "state", "model": f"DrQ-v2 reference networks, hidden {hidden}, feature_dim 50",
        "options": {k: getattr(o, k) for k in ("batch_size", "nstep", "lr", "num_expl_steps", "num_seed_steps",
                                                "stddev_duration", "replay_capacity", "eval_episodes")},
        "random_policy_return": float(np.mean(random_returns)),
        "curve": curve,
    }


def state_search(env: str, population: int, epochs: int, step: int, frames_per_epoch: int, workers: int,
                 out: Path) -> dict[str, Any]:
    """A PBT-NAS search of spaces/drqv2_state.nas with the rl task: after every step, the fitness of every member
    that trained it (the step's ``evaluated`` list, before the selection replaces anyone), their best and mean."""
    from pbtnas.compiler import compile_space
    from pbtnas.engine.commands import resolve_task_options, run_search
    from pbtnas.engine.config import SearchConfig
    from pbtnas.tasks.rl import RLOptions, space_overrides

    options = {"preset": "tiny", "env": env, "obs": "state", "frames_per_epoch": frames_per_epoch, "batch_size": 128,
               "stddev_duration": 30_000, "eval_episodes": 5, "video": False}
    overrides = space_overrides(RLOptions(**options))
    path = Path(__file__).parents[1] / "spaces" / "drqv2_state.nas"
    space = compile_space(path, overrides=overrides)
    cfg = resolve_task_options(SearchConfig.model_validate({
        "space": str(path), "overrides": overrides, "task": "rl", "task_options": options, "population": population,
        "epochs": epochs, "step": step, "seed": 0, "workers": workers, "progress": False,
    }))
    t0 = time.perf_counter()
    run_search(cfg, space, out)
    return {"env": env, "space": "spaces/drqv2_state.nas", "population": population, "epochs": epochs,
            "step": step, "frames_per_epoch": frames_per_epoch, "options": options,
            "wall_s": time.perf_counter() - t0, "curve": step_curve(out, frames_per_epoch)}


def step_curve(run: Path, frames_per_epoch: int) -> list[dict[str, Any]]:
    """After every step of the run: the fitness of every member that trained it, their best and mean."""
    curve = []
    for snap in sorted((run / "population").glob("epoch_*.json")):
        data = json.loads(snap.read_text())
        epoch = int(snap.stem.split("_")[1])
        # every member that trained the step, the ones the selection then replaced included: the post-selection
        # members list would leave those out and average only the survivors
        trained = [e for e in data["evaluated"] if e["status"] == "ok"]
        values = [float(e["fitness"]) for e in trained]
        if values:
            curve.append({"frames_per_member": epoch * frames_per_epoch, "best": max(values),
                          "mean": float(np.mean(values)), "members": len(values),
                          "fitness": {str(e["uid"]): float(e["fitness"]) for e in trained},
                          "failed": len(data["evaluated"]) - len(trained)})
    return curve


def save(section: str, value: Any) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[section] = value
    data["machine"] = machine()
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, RESULTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["render", "env", "updates", "memory", "snapshot", "curve", "search"],
                        action="append")
    parser.add_argument("--search-dir", type=Path, default=None, help="run directory of the state search")
    parser.add_argument("--curve", type=int, default=0, help="frames of the learning-curve run (0: skip)")
    parser.add_argument("--curve-env", default="cartpole_swingup")
    parser.add_argument("--curve-hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    only = set(args.only or ["render", "env", "updates", "memory", "snapshot"] + (["curve"] if args.curve else []))
    if "render" in only:
        result = render_frames("walker_walk", 84, 100)
        print("render", json.dumps(result, indent=1), flush=True)
        save("render", result)
    if "env" in only:
        result = {
            "walker_walk_pixels": env_fps("walker_walk", "pixels", 300),
            "quadruped_run_pixels": env_fps("quadruped_run", "pixels", 150),
            "walker_walk_state": env_fps("walker_walk", "state", 5000),
            "gl_backend": gl.configure_gl(),
        }
        print("env", json.dumps(result, indent=1), flush=True)
        save("env", result)
    if "updates" in only:
        result = {
            "pixels_drqv2_batch256": updates_per_s("pixels", 256, 3, hidden=1024, feature_dim=50),
            "pixels_drqv2_batch64": updates_per_s("pixels", 64, 5, hidden=1024, feature_dim=50),
            "pixels_space_genome0_batch64": updates_per_s("pixels", 64, 3, 1024, 50, space_seed=0),
            "state_hidden1024_batch256": updates_per_s("state", 256, 20, hidden=1024, feature_dim=50),
            "state_hidden256_batch256": updates_per_s("state", 256, 50, hidden=256, feature_dim=50),
        }
        print("updates", json.dumps(result, indent=1), flush=True)
        save("updates", result)
    if "memory" in only:
        result = replay_memory(4, 10_000)
        print("memory", json.dumps(result, indent=1), flush=True)
        save("memory", result)
    if "snapshot" in only:
        with tempfile.TemporaryDirectory(prefix="pbtnas-rl-snapshot-") as tmp:
            result = replay_snapshot(10_000, Path(tmp))
        print("snapshot", json.dumps(result, indent=1), flush=True)
        save("replay_snapshot", result)
    if "curve" in only:
        if not args.curve:
            print("--only curve needs --curve FRAMES", file=sys.stderr)
            return 2
        result = learning_curve(args.curve_env, args.curve, args.curve_hidden, seed=1)
        save(f"curve_{args.curve_env}_state", result)
    if "search" in only:
        out = args.search_dir or Path(tempfile.mkdtemp(prefix="pbtnas-rl-search-")) / "run"
        result = state_search(args.curve_env, population=4, epochs=6, step=2, frames_per_epoch=4000, workers=2,
                              out=out)
        print("search", json.dumps(result, indent=1), flush=True)
        save(f"search_{args.curve_env}_state", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
