"""The exact sizes of the classic NAS spaces, by combinatorics alone (pure Python, no pbtnas imports).

These are the figures issue 16 states and the `.nas` versions of the spaces must reproduce from the compiler.
"""

from __future__ import annotations

from math import comb, prod


def nb201_genomes(n_ops: int = 5, n_edges: int = 6) -> int:
    """One op per edge of the 4-node cell, one genotype for every cell: 5**6."""
    return n_ops ** n_edges


def darts_cell_genotypes(n_ops: int = 7, n_nodes: int = 4) -> int:
    """Intermediate node i (0-based) picks 2 distinct inputs of its i + 2 predecessors (unordered: the two edges
    are summed) and an op for each: C(i + 2, 2) * n_ops**2, i.e. (1*49)(3*49)(6*49)(10*49) for DARTS."""
    return prod(comb(i + 2, 2) * n_ops ** 2 for i in range(n_nodes))


def darts_genotypes(n_ops: int = 7, n_nodes: int = 4) -> int:
    """A normal and a reduction cell, chosen independently."""
    return darts_cell_genotypes(n_ops, n_nodes) ** 2


def ofa_genomes(units: int = 5, max_depth: int = 4, n_kernels: int = 3, n_expands: int = 3,
                n_depths: int = 3) -> int:
    """Every gene counted, active or not: per unit a depth and a kernel and an expansion for each of its blocks."""
    return (n_depths * (n_kernels * n_expands) ** max_depth) ** units


def ofa_architectures(units: int = 5, depths: tuple[int, ...] = (2, 3, 4), n_kernels: int = 3,
                      n_expands: int = 3) -> int:
    """Distinct networks: blocks past a unit's depth do not exist, so their genes do not tell networks apart.
    Per unit sum over depths d of 9**d: 9**2 + 9**3 + 9**4 = 7,371."""
    return sum((n_kernels * n_expands) ** d for d in depths) ** units
