"""Formatting through `pbtnas fmt`'s library function (pbtnas.dsl.format.format_source): one edit that replaces the
document when the canonical layout differs, none when it does not or when the text does not parse (its syntax error
is already among the diagnostics)."""

from __future__ import annotations

import logging

from lsprotocol import types as lsp

from pbtnas.dsl.diagnostics import DiagnosticError
from pbtnas.lsp.convert import Positions

log = logging.getLogger(__name__)


def edits(text: str, path: str, positions: Positions) -> list[lsp.TextEdit] | None:
    try:
        from pbtnas.dsl.format import format_source  # the formatter; imported when first asked for
    except ImportError:
        log.warning("formatting needs pbtnas.dsl.format (pbtnas fmt), which this installation lacks")
        return None
    try:
        formatted = format_source(text, path)
    except DiagnosticError:
        return None
    if formatted == text:
        return []
    return [lsp.TextEdit(range=positions.whole(), new_text=formatted)]
