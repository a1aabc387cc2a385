"""Compiler-grade diagnostics: a location, the source line with a caret, what was expected and found, a hint.

Every user mistake in a `.nas` file, a `--set` override or a genome becomes a `Diagnostic`. They are collected
(all of them, in one pass), sorted by position and rendered either for people (rustc/Elm style) or as JSON for
editors and scripts. A `DiagnosticError` carries them out of the compiler; the CLI prints them and exits 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pbtnas.errors import EXIT_DIAGNOSTICS, UserError


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1, `end_column` is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(line: int, column: int) -> "Span":
        return Span(line, column, line, column + 1)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    expected: str | None = None
    found: str | None = None
    hint: str | None = None
    notes: tuple[str, ...] = ()
    severity: str = "error"

    def sort_key(self) -> tuple:
        span = self.span or Span(0, 0, 0, 0)
        return (span.line, span.column, self.code, self.message)


@dataclass
class Source:
    """The text a diagnostic points into, with the name shown in `file:line:col`."""

    name: str
    text: str
    _lines: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._lines = self.text.splitlines() or [""]

    def line(self, number: int) -> str:
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""


class DiagnosticError(UserError):
    """Raised with every diagnostic of a failed compilation; never carries a Python traceback to the user."""

    exit_code = EXIT_DIAGNOSTICS

    def __init__(self, diagnostics: list[Diagnostic], source: Source | None = None):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.source = source
        super().__init__(render_text(self.diagnostics, source, color=False))


class Collector:
    """Accumulates diagnostics so one pass reports every mistake instead of stopping at the first."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span | None = None, *, expected: str | None = None,
              found: str | None = None, hint: str | None = None, notes: tuple[str, ...] = ()) -> None:
        self.items.append(Diagnostic(code, message, span, expected, found, hint, notes, "error"))

    def warning(self, code: str, message: str, span: Span | None = None, *, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, None, None, hint, (), "warning"))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_if_errors(self, source: Source | None) -> None:
        if self.errors:
            raise DiagnosticError(self.items, source)


def _render_one(d: Diagnostic, source: Source | None, color: bool) -> str:
    red, blue, bold, reset = ("\x1b[31m", "\x1b[34m", "\x1b[1m", "\x1b[0m") if color else ("", "", "", "")
    sev_color = red if d.severity == "error" else "\x1b[33m" if color else ""
    out = [f"{sev_color}{bold}{d.severity}[{d.code}]{reset}{bold}: {d.message}{reset}"]
    if d.span is not None and source is not None:
        line_no = d.span.line
        gutter = " " * len(str(line_no))
        out.append(f"{gutter}{blue}-->{reset} {source.name}:{d.span.line}:{d.span.column}")
        text = source.line(line_no)
        width = (d.span.end_column - d.span.column) if d.span.end_line == d.span.line else len(text) - d.span.column + 1
        width = max(1, width)
        label = ""
        if d.found is not None and d.expected is not None:
            label = f" found {d.found}, expected {d.expected}"
        elif d.found is not None:
            label = f" found {d.found}"
        out.append(f"{gutter} {blue}|{reset}")
        out.append(f"{blue}{line_no} |{reset} {text}")
        out.append(f"{gutter} {blue}|{reset} {' ' * (d.span.column - 1)}{sev_color}{'^' * width}{label}{reset}")
    else:
        if source is not None:
            out.append(f" --> {source.name}")
        if d.found is not None or d.expected is not None:
            out.append(f"  = found {d.found}, expected {d.expected}")
    for note in d.notes:
        out.append(f"  = note: {note}")
    if d.hint:
        out.append(f"  = {bold}hint{reset}: {d.hint}")
    return "\n".join(out)


def render_text(diagnostics: list[Diagnostic], source: Source | None, *, color: bool = False) -> str:
    parts = [_render_one(d, source, color) for d in sorted(diagnostics, key=Diagnostic.sort_key)]
    n_err = sum(d.severity == "error" for d in diagnostics)
    n_warn = len(diagnostics) - n_err
    if n_err:
        summary = f"{n_err} error{'s' if n_err != 1 else ''}"
        if n_warn:
            summary += f", {n_warn} warning{'s' if n_warn != 1 else ''}"
        parts.append(f"aborting: {summary} in {source.name if source else 'input'}")
    return "\n\n".join(parts)


def render_json(diagnostics: list[Diagnostic], source: Source | None) -> str:
    items = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        item = {
            "severity": d.severity,
            "code": d.code,
            "message": d.message,
            "file": source.name if source else None,
            "expected": d.expected,
            "found": d.found,
            "hint": d.hint,
            "notes": list(d.notes),
        }
        if d.span is not None:
            item.update(line=d.span.line, column=d.span.column, end_line=d.span.end_line,
                        end_column=d.span.end_column)
        items.append(item)
    return json.dumps({"diagnostics": items}, indent=2)
