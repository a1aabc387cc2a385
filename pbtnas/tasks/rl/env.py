"""The DeepMind Control Suite as DrQ-v2 sees it: stacked 84x84 pixels (or a flat state vector), repeated actions,
actions in [-1, 1].

One wrapper class does all of it (not a stack of dm_env wrappers) because it is short enough to read top to bottom
and because the replay buffer wants the newest frame separately from the stack: it stores each frame once and
rebuilds stacks when sampling, which is what makes a transition 3x smaller than storing stacked observations.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pbtnas.tasks.rl.gl import RenderingUnavailable, enable_rendering, install_hint, load_suite

__all__ = ["DMCEnv", "FAST_RENDER_FLAGS", "ObsMode", "RenderQuality", "TimeStep", "UnknownEnv", "make_env",
           "rescale_action", "suite_tasks"]

ObsMode = Literal["pixels", "state"]
RenderQuality = Literal["full", "fast"]

# What render_quality="fast" turns off. With a software renderer (OSMesa) the shadow pass alone is most of a frame's
# cost: a 32x32 cartpole frame took 26.5 ms with everything, 4.8 ms without shadows and 1.8 ms without all three
# (measured on the loaded 2-core development machine). The agent still sees the bodies, their motion and the floor.
FAST_RENDER_FLAGS: dict[str, bool] = {"shadow": False, "reflection": False, "skybox": False}


class UnknownEnv(ValueError):
    """An ``--env`` name that is not a ``domain_task`` of the suite."""


@dataclass(frozen=True)
class TimeStep:
    obs: np.ndarray  # pixels: uint8 [3 * frame_stack, H, W]; state: float32 [D]
    frame: np.ndarray  # the newest frame only (uint8 [3, H, W]) or the state vector: what the replay stores
    reward: float  # summed over the repeated actions; 0.0 on the first step of an episode
    discount: float  # product of the environment's discounts over the repeats (1.0 unless it terminated)
    first: bool
    last: bool


def rescale_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map an action in [-1, 1] (the tanh range of the actor) linearly onto the environment's [low, high]."""
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    return low + (a + 1.0) * 0.5 * (high - low)


class DMCEnv:
    """A dm_env environment with frame stacking, action repeat and actions rescaled from [-1, 1].

    ``env`` is any dm_env.Environment; for pixels, ``render()`` must return an uint8 [H, W, 3] image of the current
    physics state (``make_env`` passes ``physics.render`` with the task's camera). Tests pass fakes.
    """

    def __init__(
        self,
        env: Any,
        *,
        obs_mode: ObsMode = "pixels",
        frame_stack: int = 3,
        action_repeat: int = 2,
        render: Callable[[], np.ndarray] | None = None,
        gl_backend: str | None = None,
        camera: int = 0,
        render_flags: dict[str, bool] | None = None,
    ) -> None:
        if obs_mode == "pixels" and render is None:
            raise ValueError("pixel observations need a render function")
        if frame_stack < 1 or action_repeat < 1:
            raise ValueError("frame_stack and action_repeat must be >= 1")
        self._env = env
        self.obs_mode: ObsMode = obs_mode
        # Proprioceptive vectors already hold velocities, so the state mode does not stack (as in DrQ-v2's state runs).
        self.frame_stack = frame_stack if obs_mode == "pixels" else 1
        self.action_repeat = action_repeat
        self._render = render
        self._gl_backend = gl_backend
        self.camera = camera
        self._render_flags = render_flags
        spec = env.action_spec()
        self._low = np.asarray(spec.minimum, dtype=np.float64) * np.ones(spec.shape)
        self._high = np.asarray(spec.maximum, dtype=np.float64) * np.ones(spec.shape)
        self.action_dim = int(np.prod(spec.shape))
        self._frames: deque[np.ndarray] = deque(maxlen=self.frame_stack)
        self.obs_shape: tuple[int, ...] = ()
        self.frame_shape: tuple[int, ...] = ()

    # -- observation --------------------------------------------------------------------------------------------
    def _frame(self, observation: Any) -> np.ndarray:
        if self.obs_mode == "state":
            parts = [np.asarray(v, dtype=np.float32).reshape(-1) for v in observation.values()]
            return np.concatenate(parts)
        assert self._render is not None
        try:
            image = self._render()
        except Exception as err:  # every GL failure (missing library, no display, bad context) ends up here
            raise RenderingUnavailable(install_hint(self._gl_backend or "(not chosen)", err)) from err
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))

    def _stacked(self) -> np.ndarray:
        return self._frames[0] if self.frame_stack == 1 else np.concatenate(list(self._frames), axis=0)

    # -- dm_env-like API ----------------------------------------------------------------------------------------
    def reset(self) -> TimeStep:
        ts = self._env.reset()
        frame = self._frame(ts.observation)
        for _ in range(self.frame_stack):  # an episode starts with the first frame repeated
            self._frames.append(frame)
        obs = self._stacked()
        self.obs_shape, self.frame_shape = obs.shape, frame.shape
        return TimeStep(obs=obs, frame=frame, reward=0.0, discount=1.0, first=True, last=False)

    def step(self, action: np.ndarray) -> TimeStep:
        env_action = rescale_action(action, self._low, self._high)
        reward, discount = 0.0, 1.0
        ts = None
        for _ in range(self.action_repeat):
            ts = self._env.step(env_action)
            reward += float(ts.reward or 0.0) * discount
            discount *= float(ts.discount if ts.discount is not None else 1.0)
            if ts.last():
                break
        assert ts is not None
        frame = self._frame(ts.observation)
        self._frames.append(frame)
        return TimeStep(obs=self._stacked(), frame=frame, reward=reward, discount=discount, first=False, last=ts.last())

    def render_rgb(self, size: int = 256) -> np.ndarray | None:
        """A larger frame for videos (None when the env cannot render). A state-mode env loads its GL backend here,
        at the first frame: RenderingUnavailable when none renders."""
        physics = getattr(self._env, "physics", None)
        if physics is None:
            return None
        if self._gl_backend is None:
            self._gl_backend = enable_rendering()
        try:
            return np.asarray(
                physics.render(size, size, camera_id=self.camera, render_flag_overrides=self._render_flags)
            )
        except Exception as err:
            raise RenderingUnavailable(install_hint(self._gl_backend, err)) from err

    def close(self) -> None:
        # Free the GL context now: at interpreter exit dm_control's render thread is already gone and it prints a
        # "cannot schedule new futures after shutdown" traceback.
        physics = getattr(self._env, "physics", None)
        if physics is not None and hasattr(physics, "free"):
            try:
                physics.free()
            except Exception:
                pass
        close = getattr(self._env, "close", None)
        if close is not None:
            close()


def suite_tasks() -> list[str]:
    """Every ``domain_task`` name of the suite."""
    suite = load_suite(pixels=False)

    return sorted(f"{d}_{t}" for d, t in suite.ALL_TASKS)


def _split_name(name: str) -> tuple[str, str]:
    suite = load_suite(pixels=False)

    for domain, task in suite.ALL_TASKS:  # domains contain underscores too (ball_in_cup_catch, point_mass_easy)
        if f"{domain}_{task}" == name:
            return domain, task
    names = [f"{d}_{t}" for d, t in suite.ALL_TASKS]
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; e.g. {', '.join(sorted(names)[:4])}, ..."
    raise UnknownEnv(f"unknown dm_control task {name!r} (expected domain_task such as walker_walk){hint}")


def make_env(
    name: str,
    *,
    obs_mode: ObsMode = "pixels",
    seed: int = 0,
    frame_stack: int = 3,
    action_repeat: int = 2,
    size: int = 84,
    time_limit: float | None = None,
    render_quality: RenderQuality = "full",
) -> DMCEnv:
    """The suite task ``name`` (``domain_task``) wrapped for DrQ-v2. Camera 2 for quadruped, 0 otherwise.

    ``render_quality="fast"`` renders without shadows, reflections and skybox (FAST_RENDER_FLAGS): several times
    faster in software; "full" is what DrQ-v2 and the paper's agents see."""
    if render_quality not in ("full", "fast"):
        raise ValueError(f"render_quality must be 'full' or 'fast', not {render_quality!r}")
    flags = dict(FAST_RENDER_FLAGS) if render_quality == "fast" else None
    domain, task = _split_name(name)  # a typo is reported before any rendering backend is probed
    suite = load_suite(pixels=obs_mode == "pixels")
    backend = enable_rendering() if obs_mode == "pixels" else None  # cached: no second probe

    task_kwargs: dict[str, Any] = {"random": seed}
    if time_limit is not None:
        task_kwargs["time_limit"] = time_limit
    env = suite.load(domain, task, task_kwargs=task_kwargs)
    camera = 2 if domain == "quadruped" else 0

    cameras: list[Any] = []

    def render() -> np.ndarray:
        # One Camera for the whole run: physics.render() builds a new one (and its MjvScene) per call, about a
        # fifth of the cost of a software-rendered 84x84 frame.
        if not cameras:
            from dm_control.mujoco.engine import Camera

            cameras.append(Camera(env.physics, height=size, width=size, camera_id=camera))
        return cameras[0].render(render_flag_overrides=flags)

    wrapped = DMCEnv(
        env,
        obs_mode=obs_mode,
        frame_stack=frame_stack,
        action_repeat=action_repeat,
        render=render if obs_mode == "pixels" else None,
        gl_backend=backend,
        camera=camera,
        render_flags=flags,
    )
    return wrapped
