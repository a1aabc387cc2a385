"""Compile and build times of the paper's spaces and the NAS literature's (issues 2 and 16's performance targets).

Prints, for each space: parse, check (elaboration) and layout (artifact) times, the distinct-architecture count
(`pbtnas check` prints it; activity.py), and the time to build the network of a random genome at full width and at
reduced width. Times are the median of several runs after one warm-up (the first parse also loads lark's parser
from the committed tables, pbtnas/dsl/tables.py; that one-off cost is reported separately).
Targets on the reference machine (2 cores, no GPU): compiling GanHard and each space of the NAS literature
(NAS-Bench-201, DARTS, Once-for-All) under 150 ms; a full-width GanHard model built in under 1 s. Writes benchmarks/results/compile.json.

    .venv/bin/python benchmarks/compile.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _machine import cpu_model  # benchmarks/ is sys.path[0] when this file runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's pbtnas (as benchmarks/lsp.py)

from pbtnas.compiler.activity import ActivityModel  # noqa: E402
from pbtnas.compiler.elaborate import Elaborator  # noqa: E402
from pbtnas.compiler.space import CompiledSpace, _artifact, gc_paused  # noqa: E402
from pbtnas.dsl.diagnostics import Collector  # noqa: E402
from pbtnas.dsl.parser import _parser, parse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Each space with the `--set` overrides of its reduced-width build.
REDUCED = {"gan": {"gf_dim": "16", "df_dim": "16"}, "ganhard": {"gf_dim": "16", "df_dim": "16"},
           "drqv2": {"filters": "8", "hidden": "64"}, "nb201": {"C": "4", "N": "1"},
           "darts": {"C": "4", "cells": "5"},
           "ofa_mbv3": {"first": "8", "w1": "8", "w2": "16", "w3": "24", "w4": "32", "w5": "40", "final": "48",
                        "last": "64"}}
COMPILE_TARGET_S = 0.150
TARGETED = ("ganhard", "nb201", "darts", "ofa_mbv3")  # the spaces the compile target applies to


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def compile_phases(text: str, name: str, overrides: dict, repeat: int) -> dict:
    """The phases of compile_text, each timed as compile_text runs it: with the cyclic GC paused."""
    def paused(fn):
        def run():
            with gc_paused():
                return fn()
        return run

    t_parse, module = timed(paused(lambda: parse(text, name)), repeat)
    t_check, program = timed(paused(lambda: Elaborator(module, overrides, Collector()).run()), repeat)
    t_layout, artifact = timed(lambda: _artifact(program, module), repeat)
    return {"parse_s": t_parse, "check_s": t_check, "layout_s": t_layout,
            "compile_s": t_parse + t_check + t_layout, "artifact": artifact}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    _parser()
    grammar_s = time.perf_counter() - t0
    results = {"machine": f"{cpu_model()}, {platform.machine()}, {torch.get_num_threads()} torch thread, "
                          f"{platform.python_implementation()} {platform.python_version()}",
               "grammar_load_s": grammar_s, "spaces": {}}
    print(f"lark parser from the committed tables (once per process): {grammar_s * 1e3:.0f} ms")
    print(f"{'space':10} {'parse':>8} {'check':>8} {'layout':>8} {'compile':>8} {'count':>8} {'build full':>11} "
          f"{'build small':>12}  params (full)")
    for name in REDUCED:
        text = (ROOT / "spaces" / f"{name}.nas").read_text()
        full = compile_phases(text, name, {}, args.repeat)
        space = CompiledSpace(full.pop("artifact"))

        def count(artifact=space.artifact):
            with gc_paused():  # as CompiledSpace.architectures
                return ActivityModel(artifact).count()
        t_count, arch = timed(count, args.repeat)
        small = CompiledSpace(compile_phases(text, name, REDUCED[name], 1)["artifact"])
        rng = np.random.default_rng(0)
        genomes = [space.random_genome(rng) for _ in range(3)]
        t_full = statistics.median(timed(lambda g=g: space.build(g, seed=0), 1)[0] for g in genomes)
        t_small = statistics.median(timed(lambda g=g: small.build(g, seed=0), 3)[0] for g in genomes)
        n_params = sum(p.numel() for p in space.build(genomes[0], seed=0).parameters())
        row = {**full, "architectures_s": t_count,
               "architectures": None if arch.value is None else str(arch.value), "build_full_s": t_full,
               "build_reduced_s": t_small, "params_full": n_params, "genes": len(space.genes), "size": str(space.size)}
        results["spaces"][name] = row
        print(f"{name:10} {full['parse_s'] * 1e3:7.1f}ms {full['check_s'] * 1e3:7.1f}ms {full['layout_s'] * 1e3:7.1f}ms "
              f"{full['compile_s'] * 1e3:7.1f}ms {t_count * 1e3:7.1f}ms {t_full * 1e3:10.0f}ms {t_small * 1e3:11.1f}ms  {n_params / 1e6:.1f}M")
    for name in TARGETED:
        print(f"target: {name} compile {results['spaces'][name]['compile_s'] * 1e3:.0f} ms "
              f"(< {COMPILE_TARGET_S * 1e3:.0f} ms)")
    hard = results["spaces"]["ganhard"]
    print(f"target: full-width GanHard build {hard['build_full_s'] * 1e3:.0f} ms (< 1000 ms)")
    out = ROOT / "benchmarks" / "results" / "compile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
