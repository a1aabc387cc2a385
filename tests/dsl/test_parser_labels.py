"""Friendly syntax labels match the parser state wherever the mistake is (first option or fifth, shapes of any
rank), and only where they are true."""

from __future__ import annotations

import pytest

from pbtnas.dsl.diagnostics import DiagnosticError
from pbtnas.dsl.parser import parse


def message(text: str) -> str:
    with pytest.raises(DiagnosticError) as info:
        parse(text)
    (d,) = info.value.diagnostics
    return d.message + " | " + "; ".join(d.notes)


@pytest.mark.parametrize("text, label", [
    ("network n(x: [1]) -> [1] { slot s: [1] [1] {} }", "missing `->`"),
    ("network n(x: [1]) -> [1] { slot s: [4, 8, 8] [4, 8, 8] {} }", "missing `->`"),
    ("options O: [1] -> [1] { a = relu\n b = tanh\n c gelu }", "missing `=` in an option"),
    ("network n(x: [1, 2, 3],) -> [1] {}", "trailing comma"),
    ("const a = f(1, 2, 3,)", "trailing comma"),
    ("options O: [1] -> [1] { a = relu\n\nnetwork n(x: [1]) -> [1] { return x }", "opened at line 1, column 23"),
    ("const a = (1 + (2 * 3)", "the `(` opened at line 1, column 11"),
    ("values V = []", "at least one value"),
    ('const a = "abc', "unclosed string"),
    ("const a = 3 $", "unexpected character `$`"),
])
def test_labels(text, label):
    assert label in message(text)


def test_no_trailing_comma_label_for_a_missing_comma():
    assert "trailing comma" not in message("network n(x: [1], 5) -> [1] {}")


def test_expected_lists_what_the_parser_accepts():
    with pytest.raises(DiagnosticError) as info:
        parse("network n(x: [1]) -> [1] { slot s: [1, 2] [1] {} }")
    assert info.value.diagnostics[0].expected == "`->`"
