"""Shared by the language-server tests: the spaces they open and positions found by text, not hard-coded lines
(the files get reformatted)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GANHARD = ROOT / "spaces" / "ganhard.nas"


def position(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> dict:
    """The LSP position of the `occurrence`-th `needle` in `text`, plus `offset` characters (ASCII text)."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    return {"line": line, "character": at - (text.rfind("\n", 0, at) + 1)}


def line_of(text: str, needle: str) -> int:
    return position(text, needle)["line"]
