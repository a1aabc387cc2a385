"""Start-up time of the CLI (issue 17's target: `pbtnas check spaces/ganhard.nas` and `pbtnas --help` under 0.3 s).

Each command runs N times as a fresh process (`python -m pbtnas ...`, what the console script runs), after one
warm-up run that fills the OS file cache and Python's bytecode cache; the median, min and max wall times are printed
and written to benchmarks/results/cli.json. Wall time includes the interpreter's own start (measured alone too).
The processes run in Python's default configuration, writing bytecode caches, even where the calling shell sets
PYTHONDONTWRITEBYTECODE (some CI images do: then every call recompiles pbtnas's sources, a row of its own).

    .venv/bin/python benchmarks/cli.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_model  # benchmarks/ is on sys.path when this file runs

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3
COMMANDS = {
    "python -c pass": ["-c", "pass"],  # the interpreter alone: the floor under every command
    "pbtnas --help": ["-m", "pbtnas", "--help"],
    "pbtnas check spaces/ganhard.nas": ["-m", "pbtnas", "check", "spaces/ganhard.nas"],
    "  the same, no bytecode cache": ["-B", "-m", "pbtnas", "check", "spaces/ganhard.nas"],
}
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TARGETED = ("pbtnas --help", "pbtnas check spaces/ganhard.nas")


def run_once(args: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    machine = (f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
               f"{platform.python_version()}")
    results: dict = {"machine": machine, "load_average_1min": load, "runs": args.runs, "target_s": TARGET_S,
                     "commands": {}}
    print(f"{'command':34} {'median':>8} {'min':>8} {'max':>8}   ({args.runs} runs, load average {load})")
    for name, cmd in COMMANDS.items():
        run_once(cmd)  # warm-up
        times = [run_once(cmd) for _ in range(args.runs)]
        row = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
        results["commands"][name] = row
        print(f"{name:34} {row['median_s'] * 1e3:7.0f}ms {row['min_s'] * 1e3:7.0f}ms {row['max_s'] * 1e3:7.0f}ms")
    for name in TARGETED:
        median = results["commands"][name]["median_s"]
        print(f"target: {name} {median * 1e3:.0f} ms (< {TARGET_S * 1e3:.0f} ms): "
              f"{'met' if median < TARGET_S else 'NOT met'}")
    out = ROOT / "benchmarks" / "results" / "cli.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
