"""Golden diagnostics: each `golden/<case>.nas` is a small realistic file with a user mistake; `<case>.txt` is the
exact text `pbtnas check` prints for it (without colour). An optional `<case>.set` holds `--set` items, one a line.

Regenerate after a deliberate change of wording with `UPDATE_GOLDEN=1 pytest tests/compiler/test_golden_diagnostics.py`
and read every changed file: it must point at the right place, say what was expected and found, and give a hint.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pbtnas.compiler import DiagnosticError, compile_text
from pbtnas.compiler.commands import parse_sets
from pbtnas.dsl.diagnostics import render_text

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.nas"))


def render_case(case: str) -> str:
    text = (GOLDEN / f"{case}.nas").read_text()
    set_file = GOLDEN / f"{case}.set"
    items = set_file.read_text().splitlines() if set_file.exists() else []
    try:
        compile_text(text, f"{case}.nas", parse_sets(items))
    except DiagnosticError as err:
        return render_text(err.diagnostics, err.source, color=False) + "\n"
    pytest.fail(f"{case}.nas compiled without errors; a golden case must contain a mistake")


def test_enough_distinct_cases():
    assert len(CASES) >= 20
    codes = set()
    for case in CASES:
        txt = GOLDEN / f"{case}.txt"
        if txt.exists():
            codes |= {line.split("]")[0].split("[")[1] for line in txt.read_text().splitlines()
                      if line.startswith("error[")}
    # syntax, names, arity, types, shapes, absence, duplicates, cycles, empties, conditions, weights, --set,
    # repetition, tied genes
    assert {"E0001", "E0101", "E0102", "E0103", "E0104", "E0105", "E0106", "E0110", "E0201", "E0202", "E0203",
            "E0204", "E0205", "E0207", "E0208", "E0209", "E0210", "E0212", "E0213", "E0214", "E0215",
            "E0230", "E0231"} <= codes


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str):
    got = render_case(case)
    expected_file = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN") or not expected_file.exists():
        expected_file.write_text(got)
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"wrote the missing golden file {expected_file.name}; read it and commit it")
    assert got == expected_file.read_text()


@pytest.mark.parametrize("case", CASES)
def test_every_error_points_into_the_file(case: str):
    """Every diagnostic of a .nas mistake has a location inside the file (the `--set` ones excepted)."""
    text = (GOLDEN / f"{case}.nas").read_text()
    set_file = GOLDEN / f"{case}.set"
    items = set_file.read_text().splitlines() if set_file.exists() else []
    lines = text.splitlines()
    with pytest.raises(DiagnosticError) as info:
        compile_text(text, f"{case}.nas", parse_sets(items))
    diags = info.value.diagnostics
    assert diags == sorted(diags, key=lambda d: d.sort_key())
    for d in diags:
        if d.code == "E0110":
            continue
        assert d.span is not None, d
        assert 1 <= d.span.line <= len(lines) + 1
        assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1 if d.span.line <= len(lines) else True
