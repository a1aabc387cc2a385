"""The statistics of a report against hand-computed values (paper Appendix C; scipy's documented example)."""

from __future__ import annotations

import math

import pytest

from pbtnas.report.stats import bonferroni, compare, summarise, wilcoxon_greater

# scipy.stats.wilcoxon's documentation example: differences in height of 15 pairs of plants (Fisher / Wilcoxon).
SCIPY_EXAMPLE = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


def test_scipy_documentation_example_one_sided() -> None:
    w, p = wilcoxon_greater(SCIPY_EXAMPLE, [0.0] * len(SCIPY_EXAMPLE))
    assert w == 96.0  # 120 - (10 + 14): the negative differences have ranks 10 and 14
    assert p == pytest.approx(0.0206298828125, abs=1e-12)  # = 2 * ... half the documented two-sided 0.0413


@pytest.mark.parametrize(
    ("diffs", "expected"),
    [
        # Paper Table 7: n = 9 pooled pairs. All nine in favour: only 1 of the 2^9 sign patterns is as extreme.
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 1 / 512),  # 0.001953125 (PBT-NAS vs random search, GAN and RL)
        # the smallest difference against: W- = 1, patterns with W- <= 1: {}, {1}
        ([-1, 2, 3, 4, 5, 6, 7, 8, 9], 2 / 512),  # 0.00390625 (PBT-NAS vs SEARL-like, GAN)
        # the second smallest against: W- = 2, patterns with W- <= 2: {}, {1}, {2}
        ([1, -2, 3, 4, 5, 6, 7, 8, 9], 3 / 512),  # 0.005859375 (PBT-NAS vs SEARL-like, RL)
        # five seeds all in favour: the best a 5-seed experiment can show
        ([0.5, 0.1, 0.3, 0.2, 0.4], 1 / 32),
    ],
)
def test_exact_one_sided_pvalues(diffs: list[float], expected: float) -> None:
    _, p = wilcoxon_greater(diffs, [0.0] * len(diffs))
    assert p == pytest.approx(expected, rel=1e-12)


def test_direction_is_greater_is_better() -> None:
    a = [0.9, 0.8, 0.95, 0.85, 0.9]
    b = [0.5, 0.6, 0.4, 0.55, 0.45]
    assert wilcoxon_greater(a, b)[1] == pytest.approx(1 / 32)
    assert wilcoxon_greater(b, a)[1] == pytest.approx(1.0)  # W+ = 0: every pattern is at least as extreme


def test_all_ties_is_not_evidence() -> None:
    assert wilcoxon_greater([1.0, 2.0], [1.0, 2.0]) == (0.0, 1.0)


def test_bonferroni_arithmetic() -> None:
    adjusted, threshold = bonferroni([0.01, 0.02, 0.3, 0.0125])
    assert threshold == pytest.approx(0.0125)  # the paper's corrected p: 0.05 / 4
    assert adjusted == pytest.approx([0.04, 0.08, 1.0, 0.05])
    assert bonferroni([], 0.05) == ([], 0.05)


def test_summary_mean_and_sample_std() -> None:
    cells = summarise([("A", "s", 0, 1.0), ("A", "s", 1, 2.0), ("A", "s", 2, 4.0), ("B", "s", 0, 3.0)])
    a, b = cells
    assert (a.algorithm, a.n, a.mean) == ("A", 3, pytest.approx(7 / 3))
    # sample variance: ((1-7/3)^2 + (2-7/3)^2 + (4-7/3)^2) / 2 = (16/9 + 1/9 + 25/9) / 2 = 7/3
    assert a.std == pytest.approx(math.sqrt(7 / 3))
    assert b.n == 1 and math.isnan(b.std)


def test_compare_pairs_by_setting_and_seed_and_pools_settings() -> None:
    rows = []
    for setting in ("gan", "ganhard", "stl"):
        for seed in range(3):
            rows.append(("PBT-NAS", setting, seed, 10.0 + seed + (0 if setting == "gan" else 5)))
            rows.append(("Random search", setting, seed, 9.0 + seed + (0 if setting == "gan" else 5)))
            rows.append(("SEARL-like mutation", setting, seed, 17.0 if (setting, seed) == ("stl", 0) else 0.0))
    rows.append(("Random search", "gan", 7, 100.0))  # no partner: not paired
    tests = compare(rows, "PBT-NAS")
    assert [(t.second, t.n) for t in tests] == [("Random search", 9), ("SEARL-like mutation", 9)]
    assert tests[0].pvalue == pytest.approx(1 / 512)
    assert tests[0].settings == ("gan", "ganhard", "stl")
    assert tests[0].threshold == pytest.approx(0.025) and tests[0].adjusted == pytest.approx(2 / 512)
    assert tests[0].significant
    # SEARL wins only on (stl, 0): 15 - 17 = -2, the smallest |difference| (the others are 10..17), so rank 1
    # is against PBT-NAS: W- = 1 and p = 2/512
    assert tests[1].statistic == 44.0
    assert tests[1].pvalue == pytest.approx(2 / 512)
