"""The workers' CPU kernels are pinned (pbtnas.engine.kernels), so that a run's numbers do not follow the CPU model."""

from __future__ import annotations

import os

import pytest
import ray

from pbtnas.engine.execution import actor_options
from pbtnas.engine.kernels import PINNED_KERNELS, has_avx2, kernel_env
from pbtnas.engine.runner import MemberRunner


def test_the_pinned_variables_are_the_avx2_level_of_each_library() -> None:
    assert kernel_env({}, avx2=True) == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                         "MKL_CBWR": "AVX2"}


def test_a_variable_the_user_set_is_left_to_the_user() -> None:
    env = kernel_env({"ATEN_CPU_CAPABILITY": "avx512"}, avx2=True)
    assert "ATEN_CPU_CAPABILITY" not in env
    assert env == {k: v for k, v in PINNED_KERNELS.items() if k != "ATEN_CPU_CAPABILITY"}


def test_nothing_is_pinned_on_a_cpu_without_avx2() -> None:
    # setting avx2 there would stop every worker with an illegal instruction
    assert kernel_env({}, avx2=False) == {}


@pytest.mark.skipif(not has_avx2(), reason="this CPU has no AVX2: the workers run its native kernels")
def test_pool_workers_run_the_pinned_kernels(free_ray: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PINNED_KERNELS:
        monkeypatch.delenv(name, raising=False)
    assert actor_options(1.0, 0.0)["runtime_env"] == {"env_vars": PINNED_KERNELS}
    actor = ray.remote(_Probe).options(**actor_options(1.0, 0.0)).remote()  # the pool's options, no task needed
    try:
        assert ray.get(actor.cpu_kernels.remote()) == "AVX2"
    finally:
        ray.kill(actor)


class _Probe(MemberRunner):
    def __init__(self) -> None:  # no space or task: only the process's kernels are asked about
        pass


def test_a_local_ray_gets_the_pinned_variables_only_while_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """ensure_ray puts them in the environment the local Ray's processes inherit, then restores the driver's own
    (its torch keeps its kernels); a Ray this process did not start that way gets them per actor (runtime_env)."""
    from pbtnas.engine.execution import inherited_env
    from pbtnas.engine.raycluster import _environment

    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    with _environment({"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}):
        assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2" and os.environ["MKL_CBWR"] == "AVX2"
    assert "ATEN_CPU_CAPABILITY" not in os.environ and os.environ["MKL_CBWR"] == "COMPATIBLE"
    assert inherited_env() == {}  # this session's Ray was started by the test fixture, not by ensure_ray
