"""Parsing while typing: reuse the ASTs of the top-level declarations an edit left as they were.

The language server parses the whole document at every keystroke (~20 ms for GanHard, a third of an analysis),
though an edit changes one declaration. `ReusingParser.parse` cuts the text before every line that starts with a
declaration keyword (`space`, `const`, `init`, `values`, `options`, `block`, `network`) and parses each piece alone,
reusing the declarations of a piece whose text and first line are those of the previous parse. A piece is parsed
with as many newlines before it as lines precede it, so its spans are the file's. Its AST is then the one a parse
of the whole text gives: the keywords appear only at the start of a declaration and the grammar is `start: item*`,
so a cut before one is a cut between declarations whenever every piece parses. When a piece does not parse (the
cut fell inside a declaration, or the text has a syntax error) the whole text is parsed as by `parser.parse`, so
its diagnostics are exactly the compiler's. tests/dsl/test_incremental.py compares with `parser.parse`.

Reused declarations are shared between the ASTs of successive versions: the compiler reads the AST and never
changes it.
"""

from __future__ import annotations

import re
import threading

from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Span
from pbtnas.dsl.parser import parse, parse_or_none

# The keywords a top-level declaration starts with (grammars/nas.lark's `item`); the language server's error
# recovery (pbtnas/lsp/recovery.py) cuts a text at the same words.
DECLARATION_KEYWORDS = ("space", "const", "init", "values", "options", "block", "network")
_DECL_START = re.compile(rf"^(?=(?:{'|'.join(DECLARATION_KEYWORDS)})\b)", re.MULTILINE)

Piece = tuple[int, str]  # (lines before it, its text)


def pieces(text: str) -> list[Piece]:
    """The text cut before every line that starts with a declaration keyword (empty pieces dropped)."""
    cuts = [m.start() for m in _DECL_START.finditer(text)]
    bounds = [0, *(c for c in cuts if c > 0), len(text)]
    out: list[Piece] = []
    line = 0
    for start, end in zip(bounds, bounds[1:]):
        if end > start:
            chunk = text[start:end]
            out.append((line, chunk))
            line += chunk.count("\n")
    return out


def _module(decls: list[ast.Decl]) -> ast.Module:
    if not decls:  # lark's position of an empty file (parser._span of an empty meta)
        return ast.Module([], span=Span(1, 1, 1, 2))
    first, last = decls[0].span, decls[-1].span
    return ast.Module(decls, span=Span(first.line, first.column, last.end_line, last.end_column))


class ReusingParser:
    """`parse(text, filename)` equal to `parser.parse`, faster when most declarations are unchanged."""

    def __init__(self) -> None:
        self._last: dict[Piece, list[ast.Decl]] = {}  # the pieces of the last text that parsed
        self._lock = threading.Lock()
        self.reused = 0  # pieces reused by the last parse (for tests and benchmarks)

    def parse(self, text: str, filename: str = "<input>") -> ast.Module:
        with self._lock:
            found: dict[Piece, list[ast.Decl]] = {}
            decls: list[ast.Decl] = []
            reused = 0
            for piece in pieces(text):
                got = self._last.get(piece)
                if got is not None:
                    reused += 1
                else:
                    got = found.get(piece)
                if got is None:
                    module = parse_or_none("\n" * piece[0] + piece[1])
                    if module is None:  # a cut inside a declaration, or a syntax error: the whole text decides
                        self.reused = 0
                        return parse(text, filename)
                    got = module.decls
                found[piece] = got
                decls.extend(got)
            self._last, self.reused = found, reused
            return _module(decls)
