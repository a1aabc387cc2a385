"""Training time of members of the sequence spaces on one CPU core (docs/spaces.md quotes the figures).

spaces/mnist1d.nas: one epoch over 4,000 MNIST-1D-shaped samples ([1, 40] floats, batch 128, Adam), for the
largest member of each family (every gene at its last option, which is the widest, deepest or biggest kernel) and
the median and slowest of random members, in CPU seconds of the one thread (on a busy machine the wall clock is
longer by the share of the core it gets; the load average is recorded). spaces/vit.nas: one epoch over 1,000 [3, 32, 32] images (batch 64) for
the largest member and random ones. Random data: the time of a step does not depend on the values. Results go to
benchmarks/results/sequence_spaces.json.

    .venv/bin/python benchmarks/sequence_spaces.py [--random 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from pbtnas.compiler import compile_space
from pbtnas.compiler.space import CompiledSpace

ROOT = Path(__file__).resolve().parents[1]


def epoch_seconds(space: CompiledSpace, values: list[int], x: torch.Tensor, batch: int) -> float:
    net = space.build(space.validate(values), seed=0).classifier
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    y = torch.randint(0, 10, (len(x),))

    def epoch() -> None:
        for i in range(0, len(x), batch):
            loss = torch.nn.functional.cross_entropy(net(x[i:i + batch]), y[i:i + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()

    epoch()  # warm-up: first-call allocations and kernel selection
    # CPU time of this process (one thread): the cost on one core, which the wall clock of a shared machine overstates
    start = time.process_time()
    epoch()
    return time.process_time() - start


def measure(space: CompiledSpace, x: torch.Tensor, batch: int, fixed: dict[str, int], n_random: int,
            seed: int) -> dict:
    names = [g.name for g in space.genes]
    largest = [len(g.options) - 1 for g in space.genes]
    for name, option in fixed.items():
        largest[names.index(name)] = option
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(n_random):
        values = list(space.random_genome(rng).values)
        for name, option in fixed.items():
            values[names.index(name)] = option
        times.append(epoch_seconds(space, values, x, batch))
    return {"largest_s": round(epoch_seconds(space, largest, x, batch), 3),
            "random_median_s": round(statistics.median(times), 3), "random_max_s": round(max(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=10, help="random members timed per family")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                                f"1 thread", "load_average_1min": round(os.getloadavg()[0], 2), "random": args.random}
    mnist1d = compile_space(ROOT / "spaces" / "mnist1d.nas")
    signals = torch.randn(4000, 1, 40)
    for i, family in enumerate(mnist1d.gene("classifier.path").options):
        row = measure(mnist1d, signals, 128, {"classifier.path": i}, args.random, seed=i)
        results[f"mnist1d {family}, epoch of 4,000"] = row
    vit = compile_space(ROOT / "spaces" / "vit.nas")
    results["vit, epoch of 1,000"] = measure(vit, torch.randn(1000, 3, 32, 32), 64, {}, args.random, seed=0)
    for label, row in results.items():
        if isinstance(row, dict):
            print(f"{label:32s} largest {row['largest_s']:.3f} s, random median {row['random_median_s']:.3f} s, "
                  f"slowest {row['random_max_s']:.3f} s")
    out = ROOT / "benchmarks" / "results" / "sequence_spaces.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
