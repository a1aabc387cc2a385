"""Lines of an older text matched to the lines of the current one (difflib), so that inside a declaration that
does not parse now, hover, definition and references answer from the last version that parsed, at the lines that
did not change."""

from __future__ import annotations

import difflib

from pbtnas.dsl.diagnostics import Span


class LineMap:
    def __init__(self, old_text: str, new_text: str):
        old, new = old_text.split("\n"), new_text.split("\n")
        self.to_old: dict[int, int] = {}  # 1-based line numbers, unchanged lines only
        self.to_new: dict[int, int] = {}
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    self.to_old[j1 + k + 1] = i1 + k + 1
                    self.to_new[i1 + k + 1] = j1 + k + 1

    def span_to_new(self, span: Span | None) -> Span | None:
        """The span in the current text, or None when one of its lines changed."""
        if span is None:
            return None
        start, end = self.to_new.get(span.line), self.to_new.get(span.end_line)
        if start is None or end is None:
            return None
        return Span(start, span.column, end, span.end_column)
