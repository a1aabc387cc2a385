"""scripts/evidence.py rewrites only the sections of docs/results.md whose tasks it ran, and its MNIST-1D reading
is stated from the numbers."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from pbtnas.report.stats import Cell, Comparison

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "evidence.py"


def _evidence():
    spec = importlib.util.spec_from_file_location("evidence_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sections_not_run_are_kept_and_missing_ones_say_how_to_run_them(tmp_path: Path) -> None:
    ev = _evidence()
    docs = tmp_path / "results.md"
    digits = ev.TASK_TITLES["classify"]
    docs.write_text(f"# old title\n\nold intro\n\n## {digits}\n\nReproduce: old command\n\n| a table |\n")
    ev.write_results([], argparse.Namespace(argv=[], seeds=5), docs)
    text = docs.read_text()
    assert text.startswith(ev.HEADER[0]) and "old intro" not in text
    assert f"## {digits}\n\nReproduce: old command\n\n| a table |\n" in text  # kept verbatim
    assert f"## {ev.TASK_TITLES['mnist1d']}\n\nNot run yet: `python scripts/evidence.py --seeds 5 --tasks mnist1d`." in text
    assert text.index(ev.TASK_TITLES["mnist1d"]) < text.index(digits)  # the fixed order of the tasks


def test_mnist1d_reading_follows_the_numbers() -> None:
    ev = _evidence()
    cells = [Cell("PBT-NAS", "m", (0.9, 0.92)), Cell("Random search", "m", (0.8, 0.85))]
    tests = [Comparison("PBT-NAS", "Random search", 2, 3.0, 0.25, 0.25, 0.05, ("m",))]
    dyn = {"PBT-NAS": {"children": 10, "recovered_within_1": 0.4, "never_recovered": 0.3, "final_children_share": 0.5,
                       "final_best_is_initial": 1, "runs": 2}}
    text = ev._test_reading(cells, tests, dyn, {"conv": [0.9, 0.88], "dense": [0.6]})[0]
    assert "PBT-NAS (0.9100) > Random search (0.8250)" in text and "PBT-NAS has the best mean" in text
    assert "No difference is significant" in text
    assert "conv averages 0.890, dense 0.600" in text
    assert "first evaluation in 40% of cases and never in 30%" in text and "initial member in 1 of 2 runs" in text
    cells.reverse()
    cells[0] = Cell("Random search", "m", (0.95, 0.97))
    assert "PBT-NAS does not have the best mean: Random search does" in ev._test_reading(cells, [], {}, {})[0]


def test_mnist1d_reading_says_why_when_pbtnas_does_not_win() -> None:
    ev = _evidence()
    cells = [Cell("PBT-NAS", "m", (0.90,)), Cell("Random search", "m", (0.91,))]
    text = ev._test_reading(cells, [], {}, {"conv": [0.9] * 40, "dense": [0.6] * 80}, population=24)[0]
    assert "33% of random architectures use the best extractor (conv)" in text
    assert f"probability {(2 / 3) ** 24:.1g}" in text
