"""Shared fixtures. Ray is started at most once per test session, and only by tests that ask for it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

ENGINE_TESTS = Path(__file__).parent / "engine"
CLASSIFY_TESTS = Path(__file__).parent / "classify"  # plugin_ops, the classify tests' plugin module


@pytest.fixture(scope="session")
def ray_session() -> Iterator[str]:
    """A local Ray (2 CPUs, dashboard off, 127.0.0.1) for the whole session; yields its address so subprocess
    drivers can join it instead of starting their own."""
    import ray

    # Worker processes inherit the environment: let them import the test doubles in tests/engine, and the pbtnas
    # under test (not another checkout an editable install may point at; drivers joining this Ray use it too).
    paths = [str(ENGINE_TESTS), str(CLASSIFY_TESTS), str(ENGINE_TESTS.parent.parent),
             *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    if str(ENGINE_TESTS) not in sys.path:
        sys.path.insert(0, str(ENGINE_TESTS))
    context = ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level="ERROR",
        log_to_driver=False,
    )
    try:
        yield context.address_info["address"]
    finally:
        ray.shutdown()


@pytest.fixture
def free_ray(ray_session: str) -> str:
    """The session's Ray with no CPUs held by the workers earlier searches kept (``keep_workers=True``, which the
    engine tests use to skip actor start-up): a test that asks Ray for CPUs itself would wait for them forever when
    it runs after such a search (``pytest tests/gan tests/rl`` did)."""
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()
    return ray_session
