"""Statistics across runs: mean ± std of the final metric per algorithm and setting (paper Tables 1-2) and
one-sided Wilcoxon signed-rank tests with Bonferroni correction (paper Appendix C), computed with scipy.

Pairing: two algorithms are compared on the runs they share a (setting, seed) for, as the paper pairs its seeds and
pools settings ("results for CIFAR-10 using Gan, GanHard, and STL-10 using GanHard are tested together", sample size
9). Fitness is higher-is-better everywhere in pbtnas (−FID, return, accuracy), so the null hypothesis of a test
"A vs B" is that A's fitness is not higher than B's; the alternative is that it is (``alternative="greater"`` on
the differences A − B).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Cell", "Comparison", "bonferroni", "compare", "summarise", "wilcoxon_greater"]


@dataclass(frozen=True)
class Cell:
    algorithm: str
    setting: str
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof = 1); nan for a single run."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else math.nan


def summarise(results: Sequence[tuple[str, str, int, float]]) -> list[Cell]:
    """(algorithm, setting, seed, value) rows -> one cell per (algorithm, setting), in first-seen order."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for algorithm, setting, _seed, value in results:
        groups[(algorithm, setting)].append(float(value))
    return [Cell(a, s, tuple(v)) for (a, s), v in groups.items()]


def wilcoxon_greater(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """One-sided Wilcoxon signed-rank test of the paired samples: H1 = a tends to be greater than b.
    Returns (statistic W+, p-value). Exact distribution for small samples without ties (scipy's default)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) == 0:
        return math.nan, math.nan
    if np.all(d == 0):
        return 0.0, 1.0
    res = stats.wilcoxon(d, alternative="greater")
    return float(res.statistic), float(res.pvalue)


def bonferroni(pvalues: Sequence[float], alpha: float = 0.05) -> tuple[list[float], float]:
    """Bonferroni correction for m tests: the adjusted p-values min(1, m·p) and the per-test threshold α/m.
    (The paper reports raw p-values against α/m = 0.05/4 = 0.0125; both views say the same.)"""
    m = len(pvalues)
    if m == 0:
        return [], alpha
    return [min(1.0, p * m) if not math.isnan(p) else math.nan for p in pvalues], alpha / m


@dataclass(frozen=True)
class Comparison:
    first: str
    second: str
    n: int  # pairs
    statistic: float
    pvalue: float
    adjusted: float  # Bonferroni
    threshold: float  # alpha / number of tests
    settings: tuple[str, ...]

    @property
    def significant(self) -> bool:
        return not math.isnan(self.pvalue) and self.pvalue < self.threshold


def compare(
    results: Sequence[tuple[str, str, int, float]],
    reference: str,
    others: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> list[Comparison]:
    """Test ``reference`` against every other algorithm (or ``others``), pairing runs by (setting, seed) and pooling
    the settings; Bonferroni over the tests made."""
    by: dict[str, dict[tuple[str, int], float]] = defaultdict(dict)
    for algorithm, setting, seed, value in results:
        by[algorithm][(setting, int(seed))] = float(value)
    if reference not in by:
        return []
    names = [a for a in (others if others is not None else by) if a != reference and a in by]
    raw: list[tuple[str, int, float, float, tuple[str, ...]]] = []
    for other in names:
        keys = sorted(set(by[reference]) & set(by[other]))
        a = [by[reference][k] for k in keys]
        b = [by[other][k] for k in keys]
        w, p = wilcoxon_greater(a, b)
        raw.append((other, len(keys), w, p, tuple(sorted({k[0] for k in keys}))))
    adjusted, threshold = bonferroni([r[3] for r in raw], alpha)
    return [
        Comparison(reference, other, n, w, p, adj, threshold, settings)
        for (other, n, w, p, settings), adj in zip(raw, adjusted, strict=True)
    ]
