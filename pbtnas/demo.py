"""`make demo`: compile the paper's three spaces and show one sampled network of each.

Runs through the same code as `pbtnas compile` and `pbtnas show`; every figure it prints is computed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console

from pbtnas.compiler import compile_space
from pbtnas.compiler.builder import count_parameters

ROOT = Path(__file__).resolve().parents[1]


def compile_and_sample(console: Console) -> None:
    for name, note in (("gan", "Gan (CIFAR-10 widths)"), ("ganhard", "GanHard (CIFAR-10 widths)"),
                       ("drqv2", "DrQ-v2 (quadruped: 12 actions)")):
        overrides = {"action_dim": "12"} if name == "drqv2" else {}
        t0 = time.perf_counter()
        space = compile_space(ROOT / "spaces" / f"{name}.nas", overrides)
        elapsed = time.perf_counter() - t0
        genome = space.random_genome(np.random.default_rng(0))
        model = space.build(genome, seed=0)
        console.rule(f"{note}: spaces/{name}.nas")
        console.print(f"{len(space.genes)} genes, exact size {space.size_text()}, compiled in {elapsed * 1e3:.0f} ms")
        console.print("a sampled genome: " + ", ".join(f"{n.split('.', 1)[1]}={o}"
                                                       for n, o in list(space.decode(genome).items())[:8]) + ", …")
        for net in space.networks:
            console.print(f"  {net}: {count_parameters(getattr(model, net)):,} parameters")


def main() -> None:
    console = Console()
    compile_and_sample(console)


if __name__ == "__main__":
    main()
