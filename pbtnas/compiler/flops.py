"""FLOPs of a genome's networks: multiply-adds per forward pass of one sample at the space's input shapes.

Counted by torch's own `torch.utils.flop_counter.FlopCounterMode` on a network built on the meta device (shapes only:
no memory, no arithmetic, no initialisation), so any op a plugin adds is counted as torch runs it. FlopCounterMode
counts a multiply-add as 2 FLOPs; the figures here are multiply-adds (MACs), the unit NAS papers quote as "FLOPs".
Elementwise work (activations, sums, normalisation) is not counted, as in those papers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from pbtnas.compiler.selected import selected_modules
from pbtnas.errors import EXIT_DIAGNOSTICS, UserError

if TYPE_CHECKING:
    from pbtnas.compiler.space import CompiledSpace, Genome


class FlopsUnavailable(UserError):
    """A network whose input shape has a free dimension: FLOPs need concrete input sizes."""

    exit_code = EXIT_DIAGNOSTICS


@dataclass(frozen=True)
class GenomeFlops:
    total: int
    networks: dict[str, int]
    genes: dict[int, int]  # the multiply-adds of the layers under each weighted gene's prefixes


def warm_up_in_background() -> threading.Thread:
    """The first meta-device op of a process imports torch's meta kernels and decompositions (about 1 s of CPU on
    the 2-core reference machine; every later count of a small network takes milliseconds). A search starts this
    while its actors start, so the initial population's counts do not wait for it."""

    def warm() -> None:
        import torch

        torch.zeros(1, device="meta") + 1

    thread = threading.Thread(target=warm, name="pbtnas-flops-warm-up", daemon=True)
    thread.start()
    return thread


def genome_flops(space: CompiledSpace, genome: Genome | Sequence[int]) -> GenomeFlops:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    genome = space.validate(genome)
    with torch.device("meta"):
        model = space.build(genome, initialise=False)
    model.eval()
    per_path: dict[str, int] = {}
    networks: dict[str, int] = {}
    for net in space.artifact["networks"]:
        shapes = net["input_shapes"]
        if any(d is None for s in shapes for d in s):
            raise FlopsUnavailable(f"network `{net['name']}` has an input of free size {shapes}: FLOPs need "
                                   "concrete input sizes (set the constants with --set)")
        module = getattr(model, net["name"])
        root = type(module).__name__ + "."  # FlopCounterMode names modules from the root's class name
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(*(torch.zeros(1, *s, device="meta") for s in shapes))
        networks[net["name"]] = counter.get_total_flops() // 2
        for name, by_op in counter.get_flop_counts().items():
            if name.startswith(root):
                per_path[net["name"] + "." + name[len(root):]] = sum(by_op.values()) // 2
    paths = [m.path for m in selected_modules(space.artifact, genome.values)]
    genes = {}
    for g in space.genes:
        if g.prefixes:
            genes[g.index] = sum(per_path.get(p, 0) for p in paths if (p + ".").startswith(g.prefixes))
    return GenomeFlops(sum(networks.values()), networks, genes)
