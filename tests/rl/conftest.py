from __future__ import annotations

import os

import pytest
import torch

# Rendering on the CPU; a user's or CI's explicit choice wins.
os.environ.setdefault("MUJOCO_GL", "osmesa")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # The test machine is shared: one torch thread per test process.
    torch.set_num_threads(1)
