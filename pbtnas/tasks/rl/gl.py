"""Choosing MuJoCo's OpenGL backend before dm_control is imported.

dm_control reads ``MUJOCO_GL`` once, at import time, so the choice has to happen before the first
``import dm_control``. A user's explicit setting always wins. Otherwise: ``egl`` where an NVIDIA GPU is visible
(hardware rendering, headless), ``osmesa`` on a CPU-only machine (software rendering, needs Debian's
``libosmesa6``; on a CPU box EGL falls back to llvmpipe and is no faster, see reference/engine-survey.md §5).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["RenderingUnavailable", "configure_gl", "install_hint"]


class RenderingUnavailable(RuntimeError):
    """MuJoCo could not render a frame (no OpenGL backend for pixels)."""


def _gpu_present() -> bool:
    # The device node is enough: importing torch.cuda here would initialise CUDA in every env process.
    return Path("/dev/nvidiactl").exists() or Path("/dev/nvidia0").exists()


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


def configure_gl() -> str:
    """Set ``MUJOCO_GL`` (and ``PYOPENGL_PLATFORM``) unless the user did; return the backend in use."""
    _load_triton_first()
    backend = os.environ.get("MUJOCO_GL")
    if not backend:
        backend = "egl" if _gpu_present() else "osmesa"
        os.environ["MUJOCO_GL"] = backend
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    return backend


def install_hint(backend: str, error: BaseException) -> str:
    """The message a user sees when rendering fails: what broke and what to install."""
    if backend == "osmesa":
        fix = (
            "install Debian's OSMesa library: `apt-get install -y libosmesa6` "
            "(or use --obs state, which needs no rendering)"
        )
    elif backend == "egl":
        fix = (
            "EGL needs libegl1 and a GL driver (`apt-get install -y libegl1 libegl-mesa0`, or the NVIDIA driver); "
            "on a CPU-only machine set MUJOCO_GL=osmesa and install libosmesa6"
        )
    else:
        fix = "set MUJOCO_GL=osmesa (CPU) or MUJOCO_GL=egl (GPU); glfw needs an X display"
    return f"MuJoCo cannot render with MUJOCO_GL={backend} ({type(error).__name__}: {error}); {fix}"
