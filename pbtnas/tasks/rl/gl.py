"""Choosing MuJoCo's OpenGL backend, and importing dm_control so that state mode loads no GL library.

dm_control reads ``MUJOCO_GL`` once, when ``dm_control._render`` is first imported, and the import itself loads the
backend's GL library (PyOpenGL binds its platform then too). So the choice happens before the first import:

- A user's ``MUJOCO_GL`` always wins; when it cannot render, the error says what to install.
- Otherwise each candidate is tried in a subprocess that renders one small frame (``probe``), in this order:
  ``egl`` then ``osmesa`` where an NVIDIA GPU is visible (hardware rendering, headless); ``osmesa`` then ``egl`` on
  a CPU-only machine. Without a GPU both are Mesa's llvmpipe software rasteriser and render at about the same
  speed; OSMesa comes first because it needs neither a display nor a device node (EGL must find a usable device,
  which containers sometimes hide), and it is what the figures in docs/rl.md were first measured with.
  The first candidate that renders is used; the install message comes only when none does.
- The result is cached for the process and exported as ``PBTNAS_GL_PROBED`` (with ``MUJOCO_GL``), so child
  processes and Ray workers started afterwards use it without probing again.

State observations need no rendering: ``load_suite(pixels=False)`` imports dm_control with rendering disabled and
probes nothing; a later ``load_suite(pixels=True)`` in the same process attaches the chosen backend then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

from pbtnas.errors import UserError

__all__ = ["CANDIDATES_CPU", "CANDIDATES_GPU", "Choice", "PROBED_ENV", "Probe", "RenderingUnavailable",
           "candidates", "choose_backend", "configure_gl", "current_choice", "enable_rendering", "install_hint",
           "load_suite", "none_works_message", "probe"]

PROBED_ENV = "PBTNAS_GL_PROBED"  # set by this module; MUJOCO_GL set by anyone else is the user's choice
CANDIDATES_GPU: tuple[str, ...] = ("egl", "osmesa")
CANDIDATES_CPU: tuple[str, ...] = ("osmesa", "egl")
PROBE_TIMEOUT_S = 60.0  # a probe takes about a second; the limit is for a driver that hangs, on a loaded machine
_DISABLED = "disable"  # dm_control's and mujoco's name for "no renderer": importing loads no GL library

# The probe imports only dm_control (no pbtnas, no torch) so that it works whatever sys.path the parent had.
_PROBE_SOURCE = r"""
import json
from dm_control.mujoco import Physics
xml = ('<mujoco><worldbody><light pos="0 0 2"/>'
       '<geom type="sphere" size="0.2" rgba="1 0 0 1"/></worldbody></mujoco>')
physics = Physics.from_xml_string(xml)
image = physics.render(16, 16)
physics.free()
print("PBTNAS_GL_PROBE " + json.dumps({"shape": list(image.shape), "max": int(image.max())}))
"""


class RenderingUnavailable(UserError, RuntimeError):
    """MuJoCo could not render a frame (no OpenGL backend for pixels)."""


@dataclass(frozen=True)
class Probe:
    backend: str
    ok: bool
    detail: str  # why it failed (the error's last line), or what it rendered


@dataclass(frozen=True)
class Choice:
    backend: str | None  # None: nothing renders
    source: Literal["user", "probe", "inherited"]
    tried: tuple[Probe, ...] = ()


_choice: Choice | None = None  # per process; tests reset it


def _gpu_present() -> bool:
    # The device node is enough: importing torch.cuda here would initialise CUDA in every env process.
    return Path("/dev/nvidiactl").exists() or Path("/dev/nvidia0").exists()


def candidates(gpu: bool) -> tuple[str, ...]:
    return CANDIDATES_GPU if gpu else CANDIDATES_CPU


def _backend_env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MUJOCO_GL"] = backend
    env["PYOPENGL_PLATFORM"] = backend  # PyOpenGL's platform must match dm_control's backend
    env.pop(PROBED_ENV, None)
    return env


def probe(backend: str, timeout: float = PROBE_TIMEOUT_S) -> Probe:
    """Render one 16x16 frame with ``backend`` in a fresh interpreter; ok when a lit sphere came back."""
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE_SOURCE], env=_backend_env(backend), capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Probe(backend, False, f"no frame within {timeout:.0f} s")
    except OSError as err:
        return Probe(backend, False, f"cannot start {sys.executable}: {err}")
    for line in out.stdout.splitlines():
        if line.startswith("PBTNAS_GL_PROBE "):
            image = json.loads(line.split(" ", 1)[1])
            if image["shape"] == [16, 16, 3] and image["max"] > 0:
                return Probe(backend, True, f"rendered a {image['shape']} frame")
            return Probe(backend, False, f"rendered a blank or malformed frame {image}")
    lines = [ln.strip() for ln in out.stderr.splitlines() if ln.strip()]
    if not lines:
        return Probe(backend, False, f"exit status {out.returncode}, no output")
    if "'NoneType' object has no attribute" in lines[-1]:  # how PyOpenGL reports a library it could not load
        return Probe(backend, False, f"its library could not be loaded ({lines[-1]})")
    return Probe(backend, False, lines[-1])


def choose_backend(
    probe_fn: Callable[[str], Probe] | None = None, gpu: bool | None = None, environ: Mapping[str, str] | None = None
) -> Choice:
    """The backend to render with: the user's ``MUJOCO_GL``, or the first candidate whose probe renders."""
    env = os.environ if environ is None else environ
    probe_fn = probe if probe_fn is None else probe_fn
    user = env.get("MUJOCO_GL")
    if user:
        return Choice(user, "inherited" if env.get(PROBED_ENV) == user else "user")
    tried: list[Probe] = []
    for backend in candidates(_gpu_present() if gpu is None else gpu):
        result = probe_fn(backend)
        tried.append(result)
        if result.ok:
            return Choice(backend, "probe", tuple(tried))
    return Choice(None, "probe", tuple(tried))


def _cached_choice() -> Choice:
    global _choice
    # Chosen again only when MUJOCO_GL was changed since (by the user, or a test)
    if _choice is None or (os.environ.get("MUJOCO_GL") or None) != _choice.backend:
        _choice = choose_backend()
    return _choice


def current_choice() -> Choice:
    """The choice this process renders with (probing now if nothing was chosen yet); never raises."""
    return _cached_choice()


def configure_gl() -> str:
    """Choose the backend for pixels, export it (``MUJOCO_GL``, ``PYOPENGL_PLATFORM``, ``PBTNAS_GL_PROBED``) and
    return it; RenderingUnavailable when nothing renders."""
    choice = _cached_choice()
    if choice.backend is None:
        raise RenderingUnavailable(none_works_message(choice.tried))
    backend = choice.backend
    if choice.source == "probe":
        os.environ["MUJOCO_GL"] = backend
        os.environ["PYOPENGL_PLATFORM"] = backend
        os.environ[PROBED_ENV] = backend
    elif backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)  # a user's own PyOpenGL setting stays
    return backend


def _load_triton_first() -> None:
    """Import triton (torch's compiler backend) before MuJoCo's GL library.

    Mesa's software renderers (OSMesa, llvmpipe EGL) and triton's libtriton both carry LLVM. When Mesa is loaded
    first, importing triton afterwards, which torch does lazily when the first optimizer is built, segfaults
    (measured with mujoco 3.17 / torch 2.14). Loaded in the other order, both work.
    """
    try:
        import triton  # noqa: F401
    except Exception:  # not installed (CPU-only torch wheels) or broken: nothing to protect
        pass


@contextmanager
def _rendering_disabled() -> Iterator[None]:
    saved = os.environ.get("MUJOCO_GL")
    os.environ["MUJOCO_GL"] = _DISABLED
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MUJOCO_GL", None)
        else:
            os.environ["MUJOCO_GL"] = saved


def _attach(backend: str) -> str:
    """Give an already imported dm_control a renderer, if it was imported with rendering disabled."""
    from dm_control import _render

    if _render.BACKEND not in ("off", None):  # imported with a real backend: that one is what renders
        return str(_render.BACKEND)
    importers = {"egl": _render._import_egl, "osmesa": _render._import_osmesa, "glfw": _render._import_glfw}
    if backend not in importers:
        raise RenderingUnavailable(install_hint(backend, ValueError(f"not a rendering backend: {backend!r}")))
    _render.Renderer = importers[backend]()  # engine.Physics looks Renderer up on the module at each new context
    _render.BACKEND = backend
    _render.USING_GPU = backend in ("egl", "glfw")
    return backend


def enable_rendering() -> str:
    """Make dm_control render with the chosen backend (importing it, or attaching the backend to a copy imported
    for state mode); return the backend. RenderingUnavailable when nothing renders."""
    backend = configure_gl()
    _load_triton_first()
    try:
        if "dm_control._render" in sys.modules:
            return _attach(backend)
        import dm_control.suite  # noqa: F401
    except RenderingUnavailable:
        raise
    except Exception as err:  # the GL library is missing or broken (PyOpenGL fails while importing)
        raise RenderingUnavailable(install_hint(backend, err)) from err
    return backend


def load_suite(*, pixels: bool) -> ModuleType:
    """``dm_control.suite``; for pixels with a backend that renders (or RenderingUnavailable), otherwise with no GL
    library loaded and nothing probed."""
    if pixels:
        enable_rendering()
    elif "dm_control._render" not in sys.modules:
        with _rendering_disabled():
            import dm_control.suite  # noqa: F401
    from dm_control import suite

    return suite


def install_hint(backend: str, error: BaseException) -> str:
    """The message a user sees when their chosen backend fails: what broke and what to install."""
    if backend == "osmesa":
        fix = (
            "install Debian's OSMesa library: `apt-get install -y libosmesa6` "
            "(or unset MUJOCO_GL to let pbtnas pick a backend that renders, or use --obs state, which needs none)"
        )
    elif backend == "egl":
        fix = (
            "EGL needs libegl1 and a GL driver (`apt-get install -y libegl1 libgl1-mesa-dri`, or the NVIDIA driver); "
            "or unset MUJOCO_GL to let pbtnas pick a backend that renders"
        )
    else:
        fix = "set MUJOCO_GL=osmesa or MUJOCO_GL=egl, or unset it to let pbtnas pick one; glfw needs an X display"
    return f"MuJoCo cannot render with MUJOCO_GL={backend} ({type(error).__name__}: {error}); {fix}"


def none_works_message(tried: Sequence[Probe]) -> str:
    """No candidate rendered: each one's failure, then what to install."""
    reasons = "; ".join(f"{p.backend}: {p.detail}" for p in tried) or "no candidates"
    return (
        f"MuJoCo cannot render pixels: no OpenGL backend works ({reasons}). Install one: on Debian/Ubuntu "
        "`apt-get install -y libosmesa6` (software rendering, CPU) or `apt-get install -y libegl1 libgl1-mesa-dri` "
        "(EGL; with a GPU, the NVIDIA driver), then rerun; or use --obs state, which needs no rendering"
    )
