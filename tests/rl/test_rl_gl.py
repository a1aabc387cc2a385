"""Choosing MuJoCo's rendering backend: the order of the candidates, the user's choice, the message when nothing
renders, state mode without any GL library, and the fallback to EGL on a machine without OSMesa (issue 15).

The last two run in subprocesses with OSMesa hidden from the dynamic loader (empty files named like the library,
first on LD_LIBRARY_PATH: the loader stops at them instead of searching on), so they exercise the fresh-machine
case even where libosmesa6 is installed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pbtnas.tasks.rl import RLTask, gl

from .doubles import DoubleSpace

ROOT = Path(__file__).resolve().parents[2]


def fake_probe(works: set[str], calls: list[str]) -> Any:
    def probe(backend: str) -> gl.Probe:
        calls.append(backend)
        return gl.Probe(backend, backend in works, "rendered" if backend in works else f"{backend} is broken")

    return probe


@pytest.mark.parametrize(
    ("gpu", "works", "chosen", "probed"),
    [
        (False, {"osmesa", "egl"}, "osmesa", ["osmesa"]),
        (False, {"egl"}, "egl", ["osmesa", "egl"]),  # the fresh machine: Mesa's EGL, no libosmesa6
        (True, {"osmesa", "egl"}, "egl", ["egl"]),
        (True, {"osmesa"}, "osmesa", ["egl", "osmesa"]),
        (False, set(), None, ["osmesa", "egl"]),
    ],
)
def test_candidates_are_probed_in_order_until_one_renders(
    gpu: bool, works: set[str], chosen: str | None, probed: list[str]
) -> None:
    calls: list[str] = []
    choice = gl.choose_backend(fake_probe(works, calls), gpu=gpu, environ={})
    assert choice.backend == chosen and choice.source == "probe"
    assert calls == probed and [p.backend for p in choice.tried] == probed


def test_the_users_choice_wins_without_a_probe() -> None:
    calls: list[str] = []
    choice = gl.choose_backend(fake_probe({"egl"}, calls), gpu=False, environ={"MUJOCO_GL": "osmesa"})
    assert choice == gl.Choice("osmesa", "user") and calls == []
    # a parent process's probe result travels in the environment: used, not probed again
    inherited = gl.choose_backend(fake_probe(set(), calls), gpu=False,
                                  environ={"MUJOCO_GL": "egl", gl.PROBED_ENV: "egl"})
    assert inherited == gl.Choice("egl", "inherited") and calls == []


def test_configure_gl_probes_once_and_exports_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("MUJOCO_GL", "PYOPENGL_PLATFORM", gl.PROBED_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(gl, "_choice", None)
    monkeypatch.setattr(gl, "probe", fake_probe({"egl"}, calls))
    monkeypatch.setattr(gl, "_gpu_present", lambda: False)
    assert gl.configure_gl() == "egl" and gl.configure_gl() == "egl"
    assert calls == ["osmesa", "egl"]  # cached for the process
    assert os.environ["MUJOCO_GL"] == os.environ["PYOPENGL_PLATFORM"] == os.environ[gl.PROBED_ENV] == "egl"


def test_when_nothing_renders_the_message_gives_each_reason_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MUJOCO_GL", gl.PROBED_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(gl, "_choice", None)
    monkeypatch.setattr(gl, "probe", fake_probe(set(), []))
    monkeypatch.setattr(gl, "_gpu_present", lambda: False)
    with pytest.raises(gl.RenderingUnavailable) as err:
        gl.configure_gl()
    text = str(err.value)
    assert "osmesa: osmesa is broken" in text and "egl: egl is broken" in text
    assert "apt-get install -y libosmesa6" in text and "--obs state" in text
    assert "MUJOCO_GL" not in os.environ  # nothing exported when nothing works


def test_a_user_backend_that_fails_names_the_package() -> None:
    assert "apt-get install -y libosmesa6" in gl.install_hint("osmesa", OSError("libOSMesa.so: cannot open"))
    assert "libegl1" in gl.install_hint("egl", RuntimeError("no EGL device"))


def test_a_probe_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gl, "_PROBE_SOURCE", "import time; time.sleep(60)")
    result = gl.probe("egl", timeout=1.0)
    assert not result.ok and "no frame within 1 s" in result.detail


@pytest.mark.usefixtures("rendering")
def test_the_chosen_backend_renders_a_probe_frame() -> None:
    backend = gl.configure_gl()
    result = gl.probe(backend)
    assert result.ok, result.detail


def test_a_state_run_without_rendering_evaluates_but_writes_no_video(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(gl, "_choice", gl.Choice(None, "probe", (gl.Probe("osmesa", False, "no libOSMesa"),)))
    opts = {"preset": "tiny", "env": "cartpole_swingup", "obs": "state", "time_limit": 0.5, "eval_episodes": 1,
            "video": True, "video_format": "gif"}
    task = RLTask(DoubleSpace(action_dim=1, obs="state", state_dim=5), opts, tmp_path)
    try:
        with caplog.at_level(logging.WARNING, logger="pbtnas.tasks.rl"):
            fitness = task.evaluate(task.new_member(None, 0), None, seed=1)
    finally:
        task.close()
    assert np.isfinite(fitness)
    assert not list(tmp_path.rglob("*.gif"))
    assert "no evaluation video" in caplog.text and "no libOSMesa" in caplog.text


# -- subprocesses with OSMesa hidden -------------------------------------------------------------------------------

def without_osmesa(tmp_path: Path, hidden: tuple[str, ...] = ("OSMesa",), **extra: str) -> dict[str, str]:
    """This environment minus any GL choice, with OSMesa (or ``hidden``) hidden from the loader: PyOpenGL tries
    exactly these names."""
    hide = tmp_path / "hidden-libraries"
    hide.mkdir(exist_ok=True)
    for lib in hidden:
        for name in [f"lib{lib}.so", *(f"lib{lib}.so.{i}" for i in range(10))]:
            (hide / name).write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", gl.PROBED_ENV)}
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(hide), env.get("LD_LIBRARY_PATH")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 300) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


STATE_STEP = r"""
import json, os, sys
import numpy as np
from pbtnas.tasks.rl import gl
from pbtnas.tasks.rl.env import make_env
from pbtnas.tasks.rl.task import RLTask
sys.path.insert(0, "tests/rl")  # not `tests.rl`: an installed package may own the name `tests`
from doubles import DoubleSpace

env = make_env("walker_walk", obs_mode="state", seed=0, time_limit=0.1)
ts = env.reset()
ts = env.step(np.zeros(env.action_dim))
env.close()
opts = {"preset": "tiny", "env": "cartpole_swingup", "obs": "state", "frames_per_epoch": 100, "time_limit": 0.5,
        "num_seed_steps": 20, "num_expl_steps": 20, "batch_size": 8, "video": False}
task = RLTask(DoubleSpace(action_dim=1, obs="state", state_dim=5), opts, None)
state, metrics = task.train(task.new_member(None, 0), None, 0, 1, seed=1)
fitness = task.evaluate(state, None, seed=2)
task.close()
maps = open("/proc/self/maps").read() if os.path.exists("/proc/self/maps") else ""
gl_names = ("libGL", "libEGL", "libOSMesa", "libgallium", "_dri.so")
print(json.dumps({
    "obs": list(ts.obs.shape), "step": state["meta"]["step"], "fitness": fitness,
    "opengl_modules": sorted(m for m in sys.modules if m.split(".")[0] == "OpenGL"),
    "gl_libraries": sorted({ln.rsplit("/", 1)[-1] for ln in maps.splitlines() if any(n in ln for n in gl_names)}),
    "probed": gl._choice is not None or gl.PROBED_ENV in os.environ,
    "mujoco_gl": os.environ.get("MUJOCO_GL"),
}))
"""


def test_state_mode_loads_no_gl_library_even_with_a_broken_mujoco_gl(tmp_path: Path) -> None:
    # The fresh-machine failure: MUJOCO_GL=osmesa and no OSMesa made even state runs fail at import.
    report = run_python(STATE_STEP, without_osmesa(tmp_path, MUJOCO_GL="osmesa"))
    assert report["obs"] == [24] and report["step"] == 50 and np.isfinite(report["fitness"])
    assert report["opengl_modules"] == [] and report["gl_libraries"] == []
    assert report["probed"] is False and report["mujoco_gl"] == "osmesa"  # the user's setting is left as it was


CHOOSE = r"""
import json
from pbtnas.tasks.rl import gl
choice = gl.choose_backend(gpu=False)  # the CPU order: OSMesa first
print(json.dumps({"backend": choice.backend, "tried": [[p.backend, p.ok, p.detail] for p in choice.tried]}))
"""

# A representative part of tests/rl: a pixel env, a pixel training run with evaluation and video, a state run.
REPRESENTATIVE = [
    "tests/rl/test_rl_env.py::test_dm_control_pixels_shapes",
    "tests/rl/test_rl_task.py::test_tiny_pixel_run_trains_evaluates_and_writes_a_video",
    "tests/rl/test_rl_task.py::test_state_mode_trains",
    "tests/rl/test_rl_gl.py::test_the_chosen_backend_renders_a_probe_frame",
]


@pytest.mark.slow
def test_without_osmesa_the_rl_tests_fall_back_to_egl(tmp_path: Path) -> None:
    env = without_osmesa(tmp_path)
    choice = run_python(CHOOSE, env)
    assert choice["tried"][0][:2] == ["osmesa", False], choice  # really hidden, even where libosmesa6 is installed
    if choice["backend"] is None:
        reason = gl.none_works_message([gl.Probe(*t) for t in choice["tried"]])
        pytest.skip(f"no backend renders here even with OSMesa: {reason}")
    assert choice["backend"] == "egl"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *REPRESENTATIVE],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0 and f"{len(REPRESENTATIVE)} passed" in out.stdout, out.stdout[-3000:]
    assert "skipped" not in out.stdout


def test_where_nothing_renders_pixel_tests_skip_with_the_reason_and_state_tests_pass(tmp_path: Path) -> None:
    env = without_osmesa(tmp_path, hidden=("OSMesa", "EGL"))
    tests = ["tests/rl/test_rl_env.py::test_dm_control_pixels_shapes",
             "tests/rl/test_rl_env.py::test_dm_control_state_shapes"]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *tests],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "1 passed, 1 skipped" in out.stdout, out.stdout[-3000:]
    assert "SKIPPED" in out.stdout and "no OpenGL backend works (osmesa: its library could not be loaded" in out.stdout
    assert "apt-get install -y libosmesa6" in out.stdout
