"""Path-sensitive values: a tensor is a set of alternatives, each a shape (or absent) under a guard.

A guard ("cube") restricts some genes to subsets of their options, e.g. {downsample: {on}, down0: {avg_pool,
conv_3x3}}. Conditions in a `.nas` file depend only on genes, so every possible value of a tensor is described by
such alternatives, and combining two tensors only pairs alternatives whose guards can hold together. This keeps
the checker exact for blocks like the GanHard discriminator, where downsampling in two branches is correlated
through the same genes, without enumerating genomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Hashable, Iterable

from pbtnas.layers.dims import Dim


@dataclass(frozen=True)
class Cube:
    """A conjunction of per-gene option subsets; genes not mentioned are unrestricted."""

    items: frozenset[tuple[Hashable, frozenset[int]]] = frozenset()

    @staticmethod
    def of(gene: Hashable, allowed: Iterable[int], n_options: int) -> "Cube | None":
        allowed = frozenset(allowed)
        if not allowed:
            return None
        if len(allowed) == n_options:
            return Cube()
        return Cube(frozenset({(gene, allowed)}))

    @cached_property
    def _dict(self) -> dict[Hashable, frozenset[int]]:
        """`items` as a dict, built once per cube: simplifying DNFs looks cubes up thousands of times (read-only)."""
        return dict(self.items)

    def as_dict(self) -> dict[Hashable, frozenset[int]]:
        return dict(self._dict)

    def __and__(self, other: "Cube") -> "Cube | None":
        if not other.items:
            return self
        if not self.items:
            return other
        merged = dict(self._dict)
        for gene, allowed in other.items:
            if gene in merged:
                both = merged[gene] & allowed
                if not both:
                    return None
                merged[gene] = both
            else:
                merged[gene] = allowed
        return Cube(frozenset(merged.items()))


Shape = tuple[Dim, ...]
ABSENT = None


@dataclass(frozen=True)
class Alt:
    shape: Shape | None  # None: the tensor is absent under this guard
    guard: Cube


@dataclass(frozen=True)
class TVal:
    """A tensor value during checking: its alternatives (never empty)."""

    alts: tuple[Alt, ...]

    @staticmethod
    def present(shape: Shape) -> "TVal":
        return TVal((Alt(shape, Cube()),))

    @staticmethod
    def absent() -> "TVal":
        return TVal((Alt(None, Cube()),))

    @property
    def shapes(self) -> list[Shape]:
        seen: list[Shape] = []
        for a in self.alts:
            if a.shape is not None and a.shape not in seen:
                seen.append(a.shape)
        return seen

    @property
    def maybe_absent(self) -> bool:
        return any(a.shape is None for a in self.alts)

    @property
    def always_absent(self) -> bool:
        return all(a.shape is None for a in self.alts)


def simplify(alts: Iterable[Alt], n_options: dict[Hashable, int]) -> tuple[Alt, ...]:
    """Merge alternatives with the same shape whose guards differ in one gene, and drop subsumed ones.

    Repeatedly merges the first mergeable pair (i, j) in (i, j) order until none is left. A pair's mergeability
    depends on its two alternatives only, and a merge at (i, j) changes the alternative at i alone: every pair of
    a row before i had been tried and failed, so the next search tries those rows against the new alternative only,
    then searches from row i on. (The result is that of restarting from (0, 1) after every merge.)"""
    work = list(dict.fromkeys(alts))
    fresh = 0  # the alternative of the last merge: rows before it fail against every other alternative
    while len(work) > 1:
        hit = None
        new = work[fresh]
        for i in range(fresh):
            merged = _merge_alts(work[i], new, n_options)
            if merged is not None:
                hit = (i, fresh, merged)
                break
        if hit is None:
            hit = _first_merge(work, fresh, n_options)
            if hit is None:
                break
        i, j, merged = hit
        work[i] = merged
        del work[j]
        fresh = i
    return tuple(work)


def _first_merge(work: list[Alt], row: int, n_options: dict[Hashable, int]) -> tuple[int, int, Alt] | None:
    for i in range(row, len(work)):
        a = work[i]
        for j in range(i + 1, len(work)):
            merged = _merge_alts(a, work[j], n_options)
            if merged is not None:
                return i, j, merged
    return None


def _merge_alts(a: Alt, b: Alt, n_options: dict[Hashable, int]) -> Alt | None:
    if a.shape != b.shape:
        return None
    merged = _merge(a.guard, b.guard, n_options)
    return None if merged is None else Alt(a.shape, merged)


def _merge(a: Cube, b: Cube, n_options: dict[Hashable, int]) -> Cube | None:
    da, db = a._dict, b._dict
    if _subsumes(da, db):
        return a
    if _subsumes(db, da):
        return b
    if da.keys() != db.keys():  # a gene restricted in one cube only: no single-gene union covers both
        return None
    diff = [g for g, allowed in da.items() if db[g] != allowed]
    if len(diff) != 1:
        return None
    g = diff[0]
    union = da[g] | db[g]
    out = dict(da)
    if len(union) == n_options[g]:
        del out[g]
    else:
        out[g] = union
    return Cube(frozenset(out.items()))


def _subsumes(big: dict, small: dict) -> bool:
    """True when every genome satisfying `small` satisfies `big`."""
    if len(big) > len(small):  # `big` restricts a gene `small` leaves free
        return False
    for g, allowed in big.items():
        if g not in small or not small[g] <= allowed:
            return False
    return True
