"""`pbtnas fmt`: the canonical layout of `.nas` files (docs/format.md).

The formatter prints the file's own tokens again, with canonical whitespace; it never reorders, adds or removes a
token, except the optional commas (between options, before a closing `]`). Comments stay where they are: a comment
on its own line stays on its own line, before the same token; a trailing comment stays at the end of the line of
the token it follows. Line breaks the author put inside an expression are kept where a line may break (before an
operator, after a comma); a line longer than LINE_LIMIT is broken, outermost first. `format_source` checks its own
output: it must parse to the same AST, or formatting stops with an internal error instead of changing a meaning.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from pbtnas.dsl.concrete import Comment, Tok, leaves, parse_concrete
from pbtnas.dsl.diagnostics import Diagnostic, DiagnosticError
from pbtnas.dsl.parser import parse
from pbtnas.errors import EXIT_USER

__all__ = ["INDENT", "LINE_LIMIT", "FormatterBug", "format_source", "run_fmt"]

LINE_LIMIT = 120  # columns of code; the spaces in spaces/ are written to it
INDENT = 2

_COMPOUND = {"options_decl", "block_decl", "network_decl", "slot_inline", "for_stmt"}

# Where a too long line breaks first: the smaller rank at the same bracket depth. A comma separates the loosest
# parts of a bracket; the operators follow the language's precedence, loosest first.
_RANK = {"tied": -1, "->": 0, ",": 0, "if": 1, "else": 1, "|": 1, "??": 2, "+": 3, "-": 3, ">>": 4, "*": 5,
         "/": 5, "//": 5, "%": 5, "**": 6, "or": 7, "and": 8}


class FormatterBug(RuntimeError):
    """The formatted text would not mean what the input means: a bug in the formatter, never the user's."""


@dataclasses.dataclass
class _Line:
    code: str
    comment: Comment | None = None


def format_source(text: str, path: str = "<string>") -> str:
    """The canonical layout of `text`. Raises DiagnosticError (the parser's) when `text` does not parse."""
    parse(text, path)  # the parser's diagnostics, with their friendly labels, for text it refuses
    tree, comments = parse_concrete(text)
    toks = leaves(tree)
    out = _Printer(comments).module(tree)
    # The same tokens (less the optional commas) parse to the same tree: checked, since a formatter that changes
    # a meaning even once is worse than none.
    try:
        tree_after, comments_after = parse_concrete(out)
    except UnexpectedInput as err:
        raise FormatterBug(f"formatting {path} produced text that does not parse: {err}") from None
    expected = [(t.type, t.text) for i, t in enumerate(toks) if not _optional(toks, i)]
    if expected != [(t.type, t.text) for t in leaves(tree_after)]:
        raise FormatterBug(f"formatting {path} would change its tokens; the file is left as it is")
    if [c.text for c in comments] != [c.text for c in comments_after]:
        raise FormatterBug(f"formatting {path} would lose or reorder a comment; the file is left as it is")
    return out


# -- spacing ------------------------------------------------------------------------------------------------------

def _space(a: Tok, b: Tok) -> bool:
    """Whether one space separates two tokens printed on the same line."""
    if b.text in (",", ")", "]", ":", ".", "?") or a.text in ("(", "[", "."):
        return False
    if a.text == "-" and a.rule in ("neg", "neg_value"):
        return False
    if (a.text == "=" and a.rule == "kwarg") or (b.text == "=" and b.rule == "kwarg"):
        return False
    if a.text == "{" and b.text == "}":
        return False
    if b.text == "(" and (a.type == "NAME" or b.rule == "params" or (a.text == "range" and a.rule == "for_stmt")):
        return False
    if b.text == "[" and a.type == "NAME":
        return False
    return True


def _optional(toks: list[Tok], i: int) -> bool:
    """The commas the grammar makes optional: after an option, and before the `]` of a list."""
    t = toks[i]
    if t.text != ",":
        return False
    if t.rule == "option":
        return True
    return i + 1 < len(toks) and toks[i + 1].text == "]" and t.rule in ("value_list", "pick_stmt")


# -- the printer --------------------------------------------------------------------------------------------------

class _Printer:
    def __init__(self, comments: list[Comment]):
        self.comments = comments
        self.next_comment = 0
        self.lines: list[_Line] = []
        self.last_line = 0  # the source line of the last token or comment printed
        self.last_token_line = 0  # the source line where the last printed token ends
        self.open_block = True  # right after `{` (or at the top of the file): no blank line
        self.inside = False  # between the lines of one statement: no blank line either

    # comments and blank lines ------------------------------------------------------------------------------------
    def _blank(self, line: int) -> None:
        if not self.open_block and not self.inside and self.lines and line - self.last_line >= 2:
            self.lines.append(_Line(""))

    def _pending(self, before: int) -> list[Comment]:
        out = []
        while self.next_comment < len(self.comments) and self.comments[self.next_comment].pos < before:
            out.append(self.comments[self.next_comment])
            self.next_comment += 1
        return out

    def _flush(self, before: int, column: int) -> None:
        """Print the comments that come before source offset `before`: trailing, or on their own lines."""
        for c in self._pending(before):
            self._comment(c, column)

    def _comment(self, c: Comment, column: int) -> None:
        last = self.lines[-1] if self.lines else None
        if last is not None and last.code.strip() and last.comment is None and c.line == self.last_token_line:
            last.comment = c
        else:
            self._blank(c.line)
            self.lines.append(_Line(" " * column + c.text))
            self.open_block = False
        self.last_line = c.line

    # structure ---------------------------------------------------------------------------------------------------
    def module(self, tree: Tree) -> str:
        for item in tree.children:
            self.item(item, 0)
        self._flush(1 << 62, 0)
        return "".join(_render(line) + "\n" for line in self.lines)

    def item(self, node: Tree | Token, indent: int) -> None:
        if not isinstance(node, Tree) or node.data not in _COMPOUND:
            self.logical(leaves(node), indent)
            return
        children = node.children
        lbrace = next(i for i, c in enumerate(children) if isinstance(c, Token) and c.type == "LBRACE")
        header: list[Tok] = []
        for c in children[:lbrace + 1]:
            header.extend(leaves(c, str(node.data)))
        body = [c for c in children[lbrace + 1:-1]]
        rbrace = leaves(children[-1], str(node.data))[0]
        inside = any(header[-1].pos < c.pos < rbrace.pos for c in self.comments[self.next_comment:])
        if not body and not inside:
            self.logical(header + [rbrace], indent, header=True)
            return
        self.logical(header, indent, header=True)
        self.open_block = True
        pad = 0
        if node.data in ("options_decl", "slot_inline"):
            pad = max(len(str(o.children[0])) for o in body) if body else 0
        for stmt in body:
            if pad:
                self.logical(leaves(stmt), indent + INDENT, pad=pad)
            else:
                self.item(stmt, indent + INDENT)
        self._flush(rbrace.pos, indent + INDENT)
        self.lines.append(_Line(" " * indent + "}"))
        self.open_block = False
        self.last_line = self.last_token_line = rbrace.line

    # one statement, declaration or header --------------------------------------------------------------------------
    def logical(self, raw: list[Tok], indent: int, *, header: bool = False, pad: int = 0) -> None:
        toks = [t for i, t in enumerate(raw) if not _optional(raw, i)]
        first = toks[0]
        self._flush(first.pos, indent)
        self._blank(first.line)
        self.open_block = False
        # comments between the tokens: each forces a line break before the token after it
        gaps: dict[int, list[Comment]] = {}
        for i in range(1, len(toks)):
            gaps[i] = self._pending(toks[i].pos) if self.next_comment < len(self.comments) else []
        forced = {i for i, g in gaps.items() if g}
        breaks = set(forced)
        for i in range(1, len(toks)):  # the author's line breaks, where a line may break
            if toks[i].line > toks[i - 1].end_line and i not in forced:
                if _breakable(toks, i):
                    breaks.add(i)
                elif i >= 2 and (toks[i - 1].op or toks[i - 1].text == "->"):  # after an operator: before it
                    breaks.add(i - 1)
        extra = [0] * len(toks)
        if pad and len(toks) > 1 and toks[1].text == "=":
            extra[1] = pad - len(toks[0].text)
        layout = _Layout(toks, indent, header, extra)
        cols, breaks = layout.fit(breaks)
        starts = sorted(breaks | {0})
        self.inside = True
        for k, s in enumerate(starts):
            e = starts[k + 1] if k + 1 < len(starts) else len(toks)
            for c in gaps.get(s, []):
                self._comment(c, cols[s])
            code = " " * cols[s] + layout.text(s, e)
            self.lines.append(_Line(code))
            self.last_line = self.last_token_line = toks[e - 1].end_line
        self.inside = False


def _breakable(toks: list[Tok], i: int) -> bool:
    """A line may break before token i: before a binary operator, `->` or `tied`, or after a comma."""
    t = toks[i]
    if t.op or t.text == "->" or (t.text == "tied" and t.rule == "tied"):
        return True
    return toks[i - 1].text == "," and t.text not in (")", "]")


def _key(toks: list[Tok], depth: list[int], i: int) -> tuple[int, int]:
    t = toks[i]
    if toks[i - 1].text == ",":
        return depth[i], _RANK[","]
    return depth[i], _RANK.get(t.text, 9)


class _Layout:
    """Columns of the tokens of one logical line for a set of line breaks (break i: token i starts a line)."""

    def __init__(self, toks: list[Tok], indent: int, header: bool, extra: list[int]):
        self.toks = toks
        self.indent = indent
        self.header = header
        self.extra = extra
        self.depth = [0] * len(toks)  # bracket depth before each token
        d = 0
        for i, t in enumerate(toks):
            if t.text in (")", "]"):
                d -= 1
            self.depth[i] = d
            if t.text in ("(", "["):
                d += 1
        # the expression of `NAME = expr`, `slot NAME: ...`, `return expr`: continuation lines align under it
        self.anchor: int | None = None
        if not header:
            for i, t in enumerate(toks[:-1]):
                if self.depth[i] == 0 and (t.text in ("=", ":") or t.text == "return"):
                    self.anchor = i + 1
                    break
        self.sep = [0] + [(1 if _space(toks[i - 1], toks[i]) else 0) + extra[i] for i in range(1, len(toks))]

    def text(self, s: int, e: int) -> str:
        parts = [self.toks[s].text]
        for i in range(s + 1, e):
            parts.append(" " * self.sep[i] + self.toks[i].text)
        return "".join(parts)

    def columns(self, breaks: set[int]) -> list[int]:
        cols = [0] * len(self.toks)
        opened: list[int] = []  # columns of the open brackets
        col = self.indent
        for i, t in enumerate(self.toks):
            if i == 0:
                col = self.indent
            elif i in breaks:
                if t.text == "tied" and t.rule == "tied":
                    col = self.indent + INDENT
                elif opened:
                    col = opened[-1] + 1
                elif self.anchor is not None and self.anchor < i:
                    col = cols[self.anchor]
                else:
                    col = self.indent + 2 * INDENT
            else:
                col += self.sep[i]
            cols[i] = col
            if t.text in (")", "]") and opened:
                opened.pop()
            if t.text in ("(", "["):
                opened.append(col)
            col += len(t.text)
        return cols

    def fit(self, breaks: set[int]) -> tuple[list[int], set[int]]:
        """Add breaks, outermost first, until every line fits in LINE_LIMIT or cannot break any more."""
        breaks = set(breaks)
        n = len(self.toks)
        start = 0
        while True:
            cols = self.columns(breaks)
            later = [b for b in breaks if b > start]
            end = min(later) if later else n
            width = cols[end - 1] + len(self.toks[end - 1].text)
            cands = [i for i in range(start + 1, end) if _breakable(self.toks, i)]
            if width <= LINE_LIMIT or not cands:
                if end == n:
                    return cols, breaks
                start = end
                continue
            best = min(_key(self.toks, self.depth, i) for i in cands)
            level = [i for i in cands if _key(self.toks, self.depth, i) == best]
            fitting = [i for i in level if cols[i - 1] + len(self.toks[i - 1].text) <= LINE_LIMIT]
            breaks.add(fitting[-1] if fitting else level[0])


def _render(line: _Line) -> str:
    code = line.code.rstrip()
    if line.comment is None:
        return code
    text = line.comment.text
    # a trailing comment keeps its column (comments aligned by hand stay aligned), two spaces after the code at
    # least, and moves left when the line would pass the limit
    column = max(len(code) + 2, min(line.comment.column - 1, LINE_LIMIT - len(text)))
    return code + " " * (column - len(code)) + text


# -- the command --------------------------------------------------------------------------------------------------

def _nas_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.nas")) if p.is_dir() else [p])
    return out


def _read(path: Path) -> str:
    try:
        # bytes, not read_text: universal newlines would hide a file's CRLF line ends from --check
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DiagnosticError([Diagnostic("E0002", f"no such file: {path}", hint="check the path")]) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DiagnosticError([Diagnostic("E0002", f"cannot read {path}: {err}",
                                          hint="give the path of a .nas text file")]) from None


def _write(path: Path, text: str) -> None:
    """Atomically: a formatter interrupted half-way never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_fmt(paths: list[Path], check: bool = False, diff: bool = False, *, out: TextIO | None = None,
            err: TextIO | None = None) -> int:
    """`pbtnas fmt [--check] [--diff] FILES...`: format the files in place (a directory: its `.nas` files).

    `--check` writes nothing and exits 1 when a file would change; `--diff` writes nothing and prints the unified
    diff of each file that would change. Diffs go to `out` (stdout), what happened to each file and the
    diagnostics of files that do not parse or cannot be read to `err` (stderr). Exit code: 0, 1 (with --check, a
    file would change), or EXIT_USER when a file could not be formatted (the others are still formatted)."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = changed = unchanged = 0
    for path in _nas_files(paths):
        try:
            text = _read(path)
            new = format_source(text, str(path))
        except DiagnosticError as e:
            print(str(e), file=err)
            failed += 1
            continue
        if new == text:
            unchanged += 1
            continue
        changed += 1
        if diff:
            out.writelines(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                                f"{path} (original)", f"{path} (formatted)"))
        if check or diff:
            print(f"would reformat {path}", file=err)
        else:
            _write(path, new)
            print(f"reformatted {path}", file=err)
    verb = "would be reformatted" if check or diff else "reformatted"
    summary = [f"{changed} file{'s' * (changed != 1)} {verb}", f"{unchanged} left unchanged"]
    if failed:
        summary.append(f"{failed} could not be formatted")
    print(", ".join(summary), file=err)
    if failed:
        return EXIT_USER
    return 1 if check and changed else 0
