"""Error-tolerant parsing: a text with a syntax error is parsed again with its broken declarations blanked out.

The parser stops at the first syntax error. While a person types, one declaration is broken and the others are
fine: replacing the broken one's characters with spaces (newlines kept) leaves every other declaration where it
was, so their spans, and hover, definition and completion on them, stay exact. A declaration starts on a line whose
first character begins a declaration keyword; the files are written that way (docs/language.md) and an indented
`space`/`const` is still found by the parser's own error, only not used as a boundary here.
"""

from __future__ import annotations

from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import DiagnosticError, Span
from pbtnas.dsl.incremental import DECLARATION_KEYWORDS
from pbtnas.dsl.parser import parse

MAX_ATTEMPTS = 8  # each attempt is one parse; past a few broken declarations the rest is not worth the time


def declaration_starts(lines: list[str]) -> list[int]:
    """0-based numbers of the lines that begin a top-level declaration."""
    starts = []
    for i, line in enumerate(lines):
        word = line.split(None, 1)[0] if line[:1].isalpha() else ""
        if word in DECLARATION_KEYWORDS:
            starts.append(i)
    return starts


def _region(starts: list[int], n_lines: int, error: Span | None) -> tuple[int, int]:
    """The lines [first, end) of the declaration to blank for a syntax error at `error`."""
    line = (error.line - 1) if error is not None else n_lines - 1
    before = [s for s in starts if s <= line]
    if not before:
        return 0, starts[0] if starts else n_lines
    i = starts.index(before[-1])
    # An error on the first token of a declaration is the previous one's fault (an unclosed `{` runs into it).
    if error is not None and error.line - 1 == starts[i] and error.column == 1 and i > 0:
        i -= 1
    end = starts[i + 1] if i + 1 < len(starts) else n_lines
    return starts[i], end


def recover(text: str, filename: str, error: Span | None) -> tuple[ast.Module | None, list[tuple[int, int]]]:
    """The AST of `text` without the declarations that do not parse, and the blanked line ranges; None when
    nothing parses within MAX_ATTEMPTS."""
    lines = text.split("\n")
    starts = declaration_starts(lines)
    blanked: list[tuple[int, int]] = []
    for _ in range(MAX_ATTEMPTS):
        first, end = _region(starts, len(lines), error)
        if (first, end) in blanked:  # the same region again: blank from there to the end of the file
            end = len(lines)
        blanked.append((first, end))
        for i in range(first, end):
            lines[i] = " " * len(lines[i])
        try:
            return parse("\n".join(lines), filename), blanked
        except DiagnosticError as err:
            error = err.diagnostics[0].span if err.diagnostics else None
    return None, blanked
