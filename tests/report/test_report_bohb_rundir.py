"""BOHB's results become a run directory that the report reads (no Tune run: fake trial results)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pbtnas.report.load import load_run

ROOT = Path(__file__).resolve().parents[2]


def test_bohb_trials_written_as_a_run(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    from pbtnas.baselines.bohb import BohbConfig, _write_run
    from pbtnas.compiler import compile_space

    space = compile_space(str(ROOT / "spaces" / "digits.nas"))
    n = len(space.genes)
    cfg = BohbConfig(space="spaces/digits.nas", epochs=3, step=1, budget_members=4)

    def trial(values: list[int], fits: list[float]) -> SimpleNamespace:
        df = pd.DataFrame({"epoch": list(range(1, len(fits) + 1)), "fitness": fits})
        return SimpleNamespace(config={f"g{i}": v for i, v in enumerate(values)}, metrics_dataframe=df, error=None)

    results = [trial([0] * n, [0.2]), trial([1] * n, [0.3, 0.5, 0.7]), trial([0] * n, [0.25, 0.6, 0.65])]
    _write_run(tmp_path, cfg, space, [g.name for g in space.genes], results, wall=10.0)
    run = load_run(tmp_path)
    assert run.algorithm == "BOHB" and run.complete and run.epochs == [0, 1, 2, 3]
    assert run.final_fitness == 0.7 and run.best_ever_fitness == 0.7
    assert [m["uid"] for m in run.final_members()] == [1, 2]  # the trials that reached the full budget
    assert run.progress["epochs_trained"] == 1 + 3 + 3
    assert run.setting.endswith("N=4")  # comparable with the PBT-NAS cell of the same population
