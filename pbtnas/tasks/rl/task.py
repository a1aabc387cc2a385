"""The ``rl`` task: DrQ-v2 agents whose encoder, actor and critic come from the search space.

What a member's state holds (docs/contracts.md, "Member state"):

* ``model``: the space model (``encoder.*``, ``actor.*``, ``critic.*``).
* ``shadows["target"]``: the target critic, keyed ``critic.*`` like the critic it shadows. When a child inherits a
  critic gene, the engine copies the donor's target entries for it unchanged (the reference does the same).
* ``optim``: Adam moments of the three optimizers, keyed by parameter name.
* ``meta``: ``step`` (global agent step, continues across PBT steps and into children, so the exploration
  schedule and the seed phase are never replayed), ``frames``, ``episodes``, ``epochs_done`` and ``replay`` (which
  store the member trains from; see buffers.py for the rule a child follows).

The replay data itself is not part of the state (1e5-1e6 frames per member would make every checkpoint gigabytes);
it lives in replay stores that outlive a train call. By default a resumed run starts with empty buffers and refills
them; with ``replay_checkpoint`` each private store is saved next to the run after every step and restored on
resume (buffers.py, "Snapshots"), which makes a resumed run end exactly like an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pbtnas.tasks.base import MemberFailed, MemberState
from pbtnas.tasks.rl.agent import Agent, AgentConfig
from pbtnas.tasks.rl.buffers import ReplayRegistry
from pbtnas.tasks.rl.env import DMCEnv, make_env
from pbtnas.tasks.rl.gl import RenderingUnavailable
from pbtnas.tasks.rl.options import RLOptions
from pbtnas.tasks.rl.replay import EpisodeBuilder, NotEnoughData, ReplayConfig
from pbtnas.tasks.rl.video import write_video

__all__ = ["RLTask", "env_spec", "space_overrides"]

log = logging.getLogger("pbtnas.tasks.rl")


def env_spec(options: RLOptions) -> tuple[int, tuple[int, ...]]:
    """(action dim, observation shape) of the options' environment, without rendering a frame."""
    env = make_env(options.env, obs_mode="state", seed=0, action_repeat=1)
    try:
        ts = env.reset()
        action_dim = env.action_dim
        state_dim = int(ts.obs.shape[0])
    finally:
        env.close()
    if options.obs == "state":
        return action_dim, (state_dim,)
    return action_dim, (3 * options.frame_stack, options.image_size, options.image_size)


TINY_PIXEL_WIDTHS = {"hidden": "64", "filters": "8"}


def space_overrides(options: RLOptions | dict[str, Any]) -> dict[str, str]:
    """The constants to compile an RL space with for these options (``compile_space(..., overrides=...)``):
    the environment's ``action_dim`` (and ``state_dim`` or the pixel size), and for the ``tiny`` pixel preset
    laptop widths (hidden 64, 8 filters). Constants the user sets with --set should be applied after these."""
    opts = options if isinstance(options, RLOptions) else RLOptions.model_validate(options)
    action_dim, obs_shape = env_spec(opts)
    out = dict(TINY_PIXEL_WIDTHS) if opts.preset == "tiny" and opts.obs == "pixels" else {}
    out["action_dim"] = str(action_dim)
    if opts.obs == "state":
        out["state_dim"] = str(obs_shape[0])
    elif opts.image_size != 84 or opts.frame_stack != 3:
        out.update(obs_size=str(opts.image_size), frames=str(opts.frame_stack))
    return out


def _as_int(value: Any) -> int | None:
    # compiled constants are ints, or symbolic Dims that are constant
    if hasattr(value, "int_value"):
        return int(value.int_value())
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _run_key(workdir: Path | None) -> str:
    # Every worker of a run gets the same workdir, so this names the run's shared stores identically everywhere.
    text = str(workdir.resolve()) if workdir is not None else "no-workdir"
    return hashlib.sha1(text.encode()).hexdigest()[:10]


class RLTask:
    name = "rl"
    Options = RLOptions

    # The engine compiles the space with these constants (the environment's action size, …) before the search.
    space_overrides = staticmethod(space_overrides)
    # Members train from replay stores outside their states (a child forks its base's store as it was when the
    # step began; stores are freed a generation later), so steps stay synchronous: no survivor starts early.
    self_contained = False
    # The target critic is part of the model for whole-model weight operations (random search + shrink-perturb,
    # SEARL's weight mutation): the reference keeps critic_target in the model's state dict and applies them to it.
    shadows_in_model = ("target",)

    def __init__(self, space: Any, options: RLOptions | dict[str, Any], workdir: Path | None) -> None:
        self.space = space
        self.options = options if isinstance(options, RLOptions) else RLOptions.model_validate(options)
        self.workdir = Path(workdir) if workdir is not None else None
        o = self.options
        if o.torch_threads:
            torch.set_num_threads(o.torch_threads)
        self.action_dim, self.obs_shape = env_spec(o)
        self._check_space()
        if o.device == "auto":
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(o.device)
        frame_shape = (3, o.image_size, o.image_size) if o.obs == "pixels" else self.obs_shape
        self.replay_config = ReplayConfig(
            capacity=o.replay_capacity,
            frame_shape=tuple(frame_shape),
            frame_dtype="uint8" if o.obs == "pixels" else "float32",
            action_dim=self.action_dim,
            frame_stack=o.frame_stack if o.obs == "pixels" else 1,
            nstep=o.nstep,
            gamma=o.discount,
        )
        snapshots = self.workdir / "replay" if o.replay_checkpoint and self.workdir is not None else None
        self.registry = ReplayRegistry(
            _run_key(self.workdir), self.replay_config, shared=o.shared_replay, snapshot_dir=snapshots
        )
        self.agent_config = AgentConfig(
            lr=o.lr,
            tau=o.tau,
            update_every_steps=o.update_every_steps,
            num_expl_steps=o.num_expl_steps,
            num_seed_steps=o.num_seed_steps,
            stddev_init=o.stddev_init,
            stddev_final=o.stddev_final,
            stddev_duration=o.stddev_duration,
            stddev_clip=o.stddev_clip,
            batch_size=o.batch_size,
            aug_pad=o.aug_pad if o.obs == "pixels" else 0,
        )

    def _check_space(self) -> None:
        """Refuse a space compiled for another environment: a wrong shape would only fail deep inside training."""
        constants = getattr(self.space, "constants", {}) or {}
        o = self.options
        wanted: dict[str, int] = {"action_dim": self.action_dim}
        if o.obs == "state":
            wanted["state_dim"] = self.obs_shape[0]
        else:
            wanted.update(obs_size=o.image_size, frames=o.frame_stack)
        for key, want in wanted.items():
            if key not in constants:
                continue
            have = _as_int(constants[key])
            if have != want:
                raise ValueError(
                    f"the space was compiled with {key}={have} but {o.env} ({o.obs}) needs {key}={want}; "
                    f"compile it with --set {key}={want} (pbtnas.tasks.rl.space_overrides gives these)"
                )

    # -- helpers ----------------------------------------------------------------------------------------------
    def _env(self, seed: int) -> DMCEnv:
        o = self.options
        return make_env(
            o.env,
            obs_mode=o.obs,
            seed=seed % (2**31),
            frame_stack=o.frame_stack,
            action_repeat=o.action_repeat,
            size=o.image_size,
            time_limit=o.time_limit,
            render_quality=o.render_quality,
        )

    def _agent(self, state: MemberState | None, genome: Any, seed: int) -> Agent:
        model = self.space.build(genome, seed)
        agent = Agent(model, self.agent_config, self.device)
        if state is not None:
            agent.load(state)
        agent.generator.manual_seed(seed % (2**63))
        return agent

    def _state(self, agent: Agent, meta: dict[str, Any]) -> MemberState:
        model, shadows, optim = agent.dump()
        return {"model": model, "shadows": shadows, "optim": optim, "meta": meta}

    # -- Task protocol ----------------------------------------------------------------------------------------
    def new_member(self, genome: Any, seed: int) -> MemberState:
        agent = self._agent(None, genome, seed)
        agent.target.load_state_dict(agent.model.critic.state_dict())
        meta = {"step": 0, "frames": 0, "episodes": 0, "epochs_done": 0}
        return self._state(agent, meta)

    def train(
        self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        o = self.options
        torch.manual_seed(seed % (2**63))
        rng = np.random.default_rng(seed)
        meta = dict(state.get("meta") or {})
        agent = self._agent(state, genome, seed)
        replay, counters = self.registry.for_member(meta, start_epoch, seed)
        source = str(meta.get("replay", {}).get("id", f"seed{seed}"))
        step = int(meta.get("step", 0))
        n_steps = (end_epoch - start_epoch) * o.steps_per_epoch
        losses: dict[str, list[float]] = {"critic_loss": [], "actor_loss": [], "q": []}
        returns: list[float] = []
        skipped = 0
        t0 = time.perf_counter()
        env = self._env(seed)
        try:
            ts = env.reset()
            episode = EpisodeBuilder(env.action_dim)
            episode.append(ts.frame, None, 0.0, 1.0)
            for _ in range(n_steps):
                if ts.last:
                    ep = episode.build()
                    replay.add_episode(ep, source)
                    returns.append(ep.episode_return)
                    ts = env.reset()
                    episode = EpisodeBuilder(env.action_dim)
                    episode.append(ts.frame, None, 0.0, 1.0)
                action = agent.act(ts.obs, step, eval_mode=False, rng=rng)
                if agent.should_update(step):
                    try:
                        batch = replay.sample(o.batch_size)
                    except NotEnoughData:
                        skipped += 1  # nothing complete to learn from yet (first episode still running)
                    else:
                        for k, v in agent.update(batch, step).items():
                            losses[k].append(v)
                ts = env.step(action)
                episode.append(ts.frame, action, ts.reward, ts.discount)
                step += 1
            if len(episode) > 1:  # the unfinished episode is still experience (its end bootstraps, d = 1)
                ep = episode.build()
                replay.add_episode(ep, source)
                if ts.last:
                    returns.append(ep.episode_return)
        finally:
            env.close()
        snapshot_bytes = self.registry.checkpoint(replay, meta, end_epoch)
        elapsed = time.perf_counter() - t0
        meta.update(
            step=step,
            frames=int(meta.get("frames", 0)) + n_steps * o.action_repeat,
            episodes=int(meta.get("episodes", 0)) + len(returns),
            epochs_done=end_epoch,
            train_seed=int(seed),
        )
        metrics: dict[str, float] = {k: float(np.mean(v)) for k, v in losses.items() if v}
        metrics.update(counters)
        metrics.update(
            updates=float(len(losses["critic_loss"])),
            updates_skipped=float(skipped),
            train_return=float(np.mean(returns)) if returns else float("nan"),
            fps=n_steps * o.action_repeat / max(elapsed, 1e-9),
            step=float(step),
        )
        if snapshot_bytes:
            metrics["replay_snapshot_bytes"] = float(snapshot_bytes)
        return self._state(agent, meta), metrics

    def evaluate(self, state: MemberState, genome: Any, seed: int) -> float:
        video = None
        if self.options.video and self.workdir is not None:
            meta = state.get("meta") or {}
            # The engine evaluates every member of a step with the same seed; the member's last train seed tells
            # the members apart.
            # int(): the meta dict can come from a checkpoint file, and a string there must not become a path.
            member = int(meta["train_seed"]) if meta.get("train_seed") is not None else "new"
            name = f"eval_step{int(meta.get('step', 0)):09d}_member{member}_seed{int(seed)}"
            video = self.workdir / "videos" / f"{name}.{self.options.video_format}"
        returns = self.evaluate_episodes(state, genome, seed, self.options.eval_episodes, video=video)
        return float(np.mean(returns))

    def evaluate_episodes(
        self, state: MemberState, genome: Any, seed: int, episodes: int, video: Path | None = None
    ) -> list[float]:
        """Returns of ``episodes`` episodes with the mean action; the first one written to ``video`` if given."""
        agent = self._agent(state, genome, seed)
        agent.model.eval()
        rng = np.random.default_rng(seed)
        step = int((state.get("meta") or {}).get("step", 0))
        returns: list[float] = []
        frames: list[np.ndarray] = []
        env = self._env(seed)
        try:
            for i in range(episodes):
                ts = env.reset()
                total = 0.0
                record = video is not None and i == 0
                while not ts.last:
                    if record:
                        record = self._record_frame(env, ts, frames)
                    ts = env.step(agent.act(ts.obs, step, eval_mode=True, rng=rng))
                    total += ts.reward
                if record:
                    self._record_frame(env, ts, frames)
                returns.append(total)
        finally:
            env.close()
        if not all(math.isfinite(r) for r in returns):
            raise MemberFailed(f"non-finite evaluation return {returns}")
        if video is not None and frames:
            write_video(frames, video, fps=max(1, 50 // self.options.action_repeat))
        return returns

    def _record_frame(self, env: DMCEnv, ts: Any, frames: list[np.ndarray]) -> bool:
        """Append the video frame of ``ts``; False (and no video) when a state run's machine cannot render."""
        if self.options.obs == "pixels":
            frames.append(np.ascontiguousarray(ts.frame.transpose(1, 2, 0)))  # the agent's own view, newest frame
            return True
        try:
            frame = env.render_rgb(self.options.image_size)
        except RenderingUnavailable as err:
            # A state run needs no rendering to train or to be evaluated: only its video is lost.
            log.warning("no evaluation video: %s", err)
            frames.clear()
            return False
        assert frame is not None
        frames.append(frame)
        return True

    def close(self) -> None:
        """Free this run's replay stores (the engine calls it at the end of a run, when it knows the hook)."""
        self.registry.release()

    def final_module(self, state: MemberState, genome: Any) -> nn.Module:
        agent = self._agent(state, genome, 0)
        return agent.model.eval()
