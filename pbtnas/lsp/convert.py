"""Compiler spans (1-based lines and columns in characters, end exclusive) <-> LSP ranges (0-based, UTF-16 code
units by default), and compiler diagnostics -> LSP diagnostics."""

from __future__ import annotations

from typing import Callable

from lsprotocol import types as lsp

from pbtnas.dsl.diagnostics import Diagnostic, Span


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class Positions:
    """One document's lines and the position encoding agreed with the client (`units`: how many code units a
    string takes; UTF-16, the protocol's default, unless the client chose another)."""

    def __init__(self, text: str, units: Callable[[str], int] = _utf16_units):
        self.text = text
        self.lines = text.split("\n")
        self.units = units

    def to_position(self, line: int, column: int) -> lsp.Position:
        """1-based line/column -> LSP position, clamped into the document."""
        row = min(max(line - 1, 0), len(self.lines) - 1)
        text = self.lines[row]
        col = min(max(column - 1, 0), len(text))
        return lsp.Position(line=row, character=self.units(text[:col]) if col else 0)

    def to_range(self, span: Span | None) -> lsp.Range:
        if span is None:
            return lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
        return lsp.Range(start=self.to_position(span.line, span.column),
                         end=self.to_position(span.end_line, span.end_column))

    def from_position(self, position: lsp.Position) -> tuple[int, int]:
        """LSP position -> 1-based line and character column."""
        row = position.line
        text = self.lines[row] if 0 <= row < len(self.lines) else ""
        used, col = 0, 0
        while col < len(text) and used < position.character:
            used += self.units(text[col])
            col += 1
        return row + 1, col + 1

    def whole(self) -> lsp.Range:
        return lsp.Range(start=lsp.Position(line=0, character=0),
                         end=lsp.Position(line=len(self.lines) - 1, character=self.units(self.lines[-1])))


def to_lsp_diagnostic(positions: Positions, d: Diagnostic) -> lsp.Diagnostic:
    """The compiler's diagnostic, its parts in the order `pbtnas check` prints them."""
    message = [d.message]
    if d.found is not None and d.expected is not None:
        message.append(f"found {d.found}, expected {d.expected}")
    elif d.found is not None:
        message.append(f"found {d.found}")
    elif d.expected is not None:
        message.append(f"expected {d.expected}")
    message += [f"note: {n}" for n in d.notes]
    if d.hint:
        message.append(f"hint: {d.hint}")
    severity = lsp.DiagnosticSeverity.Warning if d.severity == "warning" else lsp.DiagnosticSeverity.Error
    return lsp.Diagnostic(range=positions.to_range(d.span), message="\n".join(message), severity=severity,
                          code=d.code, source="pbtnas")
