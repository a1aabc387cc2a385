"""The CPU kernel level of the worker processes, pinned so that a run's numbers do not depend on the CPU model.

torch picks its CPU kernels by the instruction sets the processor has: ATen's vectorised kernels (random
initialisation, reductions, the optimizer's arithmetic), oneDNN's convolutions and MKL's matrix products each have
an AVX2 and an AVX-512 variant (and more), which add in different orders and so round differently. The same seed
then trains different networks on different CPUs: `make demo` gave three different results on three kinds of
2-core machine (docs/engine.md, "Determinism"). Each worker therefore runs the AVX2 variants, which every x86-64
processor of the last decade has, set through the three libraries' documented variables before the worker starts:

- ``ATEN_CPU_CAPABILITY=avx2`` (ATen's dispatch),
- ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN's kernels),
- ``MKL_CBWR=AVX2`` (MKL's conditional numerical reproducibility).

Threads are pinned separately (one per CPU a member gets, ``MemberRunner``). A variable the user has set is left as
it is (``ATEN_CPU_CAPABILITY=avx512`` gives back the native speed, and machine-dependent numbers). Nothing is pinned
where the driver's CPU lacks AVX2 (ARM, very old x86): setting it there would stop the workers with an illegal
instruction; such a machine gets its own, still repeatable, numbers.
"""

from __future__ import annotations

import os
import platform

__all__ = ["PINNED_KERNELS", "kernel_env"]

PINNED_KERNELS: dict[str, str] = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}


def has_avx2() -> bool:
    """This machine can run the pinned level: an x86-64 CPU with AVX2 and FMA (what ATen's avx2 level needs)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"avx2", "fma"} <= flags
    except OSError:
        pass
    import torch  # no /proc (macOS on Intel): ATen's own detection, unless a user variable already overrides it

    return "ATEN_CPU_CAPABILITY" not in os.environ and torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")


def kernel_env(environ: dict[str, str] | None = None, avx2: bool | None = None) -> dict[str, str]:
    """The variables a worker process is started with: the pinned ones the user has not set, or none at all where
    the CPU cannot run them."""
    environ = dict(os.environ) if environ is None else environ
    if not (has_avx2() if avx2 is None else avx2):
        return {}
    return {k: v for k, v in PINNED_KERNELS.items() if k not in environ}
