"""The RL task's options and presets.

The ``paper`` preset holds the settings of the authors' RL runs (github.com/AwesomeLemon/PBT-NAS at commit 5a27434,
``configs/main/{quadrun,walkerrun,humanrun}_*.yml``, which keep DrQ-v2's own defaults for everything they do not
set); docs/rl.md, "Presets", lists them.

A preset fills every field the user did not give: ``RLOptions(preset="paper", env="walker_run")`` has batch 512,
1-step returns and a shared 1e6 replay, while ``RLOptions(preset="paper", env="walker_run", batch_size=256)`` keeps
the user's batch. ``population``, ``epochs``, ``e_step`` and ``step_schedule`` are the engine settings the
preset recommends (``step_schedule`` in the engine's StepRule form); the engine reads them as defaults and the task itself does not use them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pbtnas.tasks.presets import fill_preset

__all__ = ["PRESETS", "RLOptions", "preset_values"]

PRESETS = ("default", "paper", "tiny")


def _paper(domain: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        # DrQ-v2 defaults, and the reference's settings for quadruped/walker (3M frames, e_step 10, 12 agents).
        "frames_per_epoch": 10_000,
        "nstep": 3,
        "batch_size": 256,
        "replay_capacity": 1_000_000,
        "shared_replay": False,
        "lr": 1e-4,
        "stddev_duration": 500_000,
        "eval_episodes": 10,
        "population": 12,
        "epochs": 300,
        "e_step": 10,
        # the paper's "e_step doubled in the first half": steps of 20 epochs before epoch 150 (engine StepRule)
        "step_schedule": [{"until_epoch": 150, "step": 20}],
    }
    if domain == "quadruped":
        base.update(replay_capacity=100_000, shared_replay=False)
    elif domain == "walker":
        base.update(nstep=1, batch_size=512, shared_replay=True)
    elif domain == "humanoid":
        base.update(
            lr=8e-5, stddev_duration=2_000_000, shared_replay=True, epochs=1500, e_step=100, step_schedule=[]
        )
    return base


def _tiny(obs: str) -> dict[str, Any]:
    # Minutes on a laptop CPU: short episodes, small batches, updates after 500 steps, a short noise schedule.
    values: dict[str, Any] = {
        "frames_per_epoch": 2_000,
        "time_limit": 5.0,
        "image_size": 48,  # with space_overrides' hidden 64 / filters 8: a laptop-sized DrQ-v2
        "render_quality": "fast",  # no shadows/reflections/skybox: the shadow pass dominates software rendering
        "nstep": 3,
        "batch_size": 64,
        "replay_capacity": 20_000,
        "num_expl_steps": 500,
        "num_seed_steps": 500,
        "stddev_duration": 20_000,
        "eval_episodes": 3,
        "population": 4,
        "epochs": 4,
        "e_step": 2,
        "step_schedule": [],
    }
    if obs == "state":
        # State observations are cheap: full-length episodes so returns compare with published numbers.
        values.update(frames_per_epoch=10_000, time_limit=None, batch_size=256, replay_capacity=100_000,
                      num_expl_steps=1000, num_seed_steps=1000, stddev_duration=50_000, eval_episodes=5,
                      epochs=10, e_step=2)
    return values


def preset_values(preset: str, env: str, obs: str) -> dict[str, Any]:
    """The field values a preset sets for ``env`` (``domain_task``) and observation mode ``obs``."""
    if preset == "default":
        return {}
    if preset == "paper":
        return _paper(env.split("_", 1)[0])
    if preset == "tiny":
        return _tiny(obs)
    raise ValueError(f"unknown RL preset {preset!r}; choose one of {', '.join(PRESETS)}")


class RLOptions(BaseModel):
    """Everything the RL task can be told. Defaults are DrQ-v2's (cfgs/config.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Literal["default", "paper", "tiny"] = "default"
    env: str = Field("cartpole_swingup", description="dm_control suite task as domain_task, e.g. walker_run")
    obs: Literal["pixels", "state"] = "pixels"

    # environment
    frames_per_epoch: int = Field(10_000, gt=0, description="one 'epoch' of the engine, in environment frames")
    action_repeat: int = Field(2, ge=1)
    frame_stack: int = Field(3, ge=1)
    image_size: int = Field(84, ge=16)
    time_limit: float | None = Field(None, gt=0, description="episode length in seconds; None = the suite's")
    discount: float = Field(0.99, gt=0, le=1)
    render_quality: Literal["full", "fast"] = Field(
        "full", description="'fast' renders without shadows, reflections and skybox (several times faster on a CPU)"
    )

    # agent
    nstep: int = Field(3, ge=1)
    batch_size: int = Field(256, ge=1)
    lr: float = Field(1e-4, gt=0)
    tau: float = Field(0.01, gt=0, le=1)
    update_every_steps: int = Field(2, ge=1)
    num_expl_steps: int = Field(2000, ge=0)
    num_seed_steps: int = Field(2000, ge=0)
    stddev_init: float = 1.0
    stddev_final: float = 0.1
    stddev_duration: int = Field(500_000, ge=1)
    stddev_clip: float = Field(0.3, gt=0)
    aug_pad: int = Field(4, ge=0)

    # replay
    replay_capacity: int = Field(1_000_000, ge=1000)
    shared_replay: bool = False
    replay_checkpoint: bool = Field(
        False,
        description="save every private replay store after each step (RUN/workdirs/replay) so that --resume "
        "continues with exactly the data an uninterrupted run has; costs the store's bytes per transition on disk",
    )

    # evaluation
    eval_episodes: int = Field(10, ge=1)
    video: bool = Field(True, description="write a video of the first evaluation episode into the run directory")
    video_format: Literal["mp4", "gif"] = "mp4"

    # execution
    device: str = Field("auto", description="'auto' (cuda when available), 'cpu' or 'cuda[:i]'")
    torch_threads: int | None = Field(None, ge=1)

    # engine defaults recommended by the preset (not used by the task)
    population: int = Field(12, ge=2)
    epochs: int = Field(300, ge=1)
    e_step: int = Field(10, ge=1)
    step_schedule: list[dict[str, int]] = Field(
        default_factory=list, description="engine StepRules [{until_epoch, step}]: bigger steps early in the run"
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = data.get("preset", "default")
        env = data.get("env", "cartpole_swingup")
        obs = data.get("obs", "pixels")
        if not isinstance(preset, str) or not isinstance(env, str) or not isinstance(obs, str):
            return data  # pydantic reports the type error
        return fill_preset(preset_values(preset, env, obs), data)

    @model_validator(mode="after")
    def _checkpointable(self) -> RLOptions:
        if self.replay_checkpoint and self.shared_replay:
            raise ValueError(
                "replay_checkpoint works with private buffers only: agents append to a shared buffer in the order "
                "they happen to finish episodes, so no snapshot can make a resumed run exact; drop one of the two"
            )
        return self

    @property
    def steps_per_epoch(self) -> int:
        """Agent steps in one epoch (frames / action repeat)."""
        return max(1, self.frames_per_epoch // self.action_repeat)

    @property
    def domain(self) -> str:
        return self.env.split("_", 1)[0]
