"""What a benchmark's figures depend on: the CPU model (the reference VM's host has changed between sessions, from a
Xeon to an EPYC, and figures only compare on the same one)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
