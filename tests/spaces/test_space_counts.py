"""The combinatorial sizes of NAS-Bench-201, DARTS and OFA as issue 16 states them."""

from __future__ import annotations

from itertools import combinations, product

from space_counts import darts_cell_genotypes, darts_genotypes, nb201_genomes, ofa_architectures, ofa_genomes


def test_nb201():
    assert nb201_genomes() == 5 ** 6 == 15_625


def test_darts_cell_is_the_product_of_its_nodes():
    assert darts_cell_genotypes() == (1 * 49) * (3 * 49) * (6 * 49) * (10 * 49) == 1_037_664_180
    assert darts_genotypes() == 1_037_664_180 ** 2 == 1_076_746_950_455_072_400


def test_darts_count_matches_enumeration_on_a_small_cell():
    # 2 ops, 3 nodes: enumerate unordered distinct input pairs with an op per edge, as sets of edges
    def enumerate_cell(n_ops: int, n_nodes: int) -> int:
        per_node = []
        for i in range(n_nodes):
            per_node.append({frozenset(((a, oa), (b, ob))) for a, b in combinations(range(i + 2), 2)
                             for oa, ob in product(range(n_ops), repeat=2)})
        total = 1
        for choices in per_node:
            total *= len(choices)
        return total
    assert darts_cell_genotypes(2, 3) == enumerate_cell(2, 3)


def test_ofa():
    assert ofa_genomes() == (3 * 9 ** 4) ** 5
    assert ofa_architectures() == 7_371 ** 5 == 21_758_655_492_572_485_851  # about 2.2e19


def test_ofa_architectures_by_enumeration_of_one_small_unit():
    # one unit, depths {1, 2} of at most 2 blocks, 2 kernels x 1 expansion: the networks are the active prefixes
    nets = {(d, tuple(ks[:d])) for d in (1, 2) for ks in product((3, 5), repeat=2)}
    assert ofa_architectures(units=1, depths=(1, 2), n_kernels=2, n_expands=1) == len(nets) == 2 + 4
