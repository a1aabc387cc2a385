from __future__ import annotations

import pytest
import torch

from pbtnas.tasks.rl import gl


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # The test machine is shared: one torch thread per test process.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def _why_no_rendering() -> str | None:
    """None when this machine renders MuJoCo frames, else the reason (what failed, what to install)."""
    try:
        backend = gl.configure_gl()  # probes the candidates unless MUJOCO_GL is set
    except gl.RenderingUnavailable as err:
        return str(err)
    if gl.current_choice().source != "probe":  # the environment's own MUJOCO_GL: check it renders too
        result = gl.probe(backend)
        if not result.ok:
            return gl.install_hint(backend, RuntimeError(result.detail))
    return None


@pytest.fixture
def rendering(_why_no_rendering: str | None) -> None:
    """For tests that need pixels: skipped, with the reason, on a machine where no OpenGL backend renders."""
    if _why_no_rendering is not None:
        pytest.skip(_why_no_rendering)
