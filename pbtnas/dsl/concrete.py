"""The concrete syntax of a `.nas` file: every token, in order, with the grammar rule it belongs to, and every
comment with its position. The AST drops both the punctuation and the comments; the formatter needs them.

The tree comes from the same grammar as `parser.parse` (with lark's `keep_all_tokens`, so `(`, `,` and keywords
stay in it), and the comments from the lexer's callback for the ignored COMMENT terminal, so a `#` inside a string
is never taken for a comment: the lexer decides, exactly as it does for the parser.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from lark import Lark, Token, Tree

from pbtnas.dsl import tables
from pbtnas.dsl.parser import GRAMMAR_PATH

_sink = threading.local()  # the comments of the parse running in this thread (a language server may run several)


def _collect_comment(tok: Token) -> Token:
    _sink.comments.append(tok)
    return tok


@lru_cache(maxsize=1)
def _cst_parser() -> Lark:
    return tables.make_parser(GRAMMAR_PATH, keep_all_tokens=True, lexer_callbacks={"COMMENT": _collect_comment})


@dataclass(frozen=True)
class Tok:
    """One token of the file. `rule` is the grammar rule (or alias) of the tree holding it, `op` is true for the
    operator of a binary form (`>>` of a pipe, `else` of a conditional, `|` of a union), where a line may break."""

    text: str
    type: str
    rule: str
    op: bool
    pos: int
    line: int
    end_line: int
    column: int


@dataclass(frozen=True)
class Comment:
    text: str
    pos: int
    line: int
    column: int


# Rules whose odd-numbered children are operator tokens between operands.
BINARY_RULES = frozenset({"add", "sub", "pipe", "mul", "div", "floordiv", "mod", "pow", "otherwise", "when",
                          "ifelse", "cond_or", "cond_and", "union"})


def parse_concrete(text: str) -> tuple[Tree, list[Comment]]:
    """The full tree and the comments of a text that `parser.parse` accepts (call that first: its diagnostics are
    the ones users see; this raises lark's exceptions)."""
    _sink.comments = []
    try:
        tree = _cst_parser().parse(text)
        found = _sink.comments
    finally:
        _sink.comments = []
    comments = [Comment(str(c).rstrip(), c.start_pos, c.line, c.column) for c in found]
    return tree, comments


def leaves(tree: Tree | Token, rule: str = "") -> list[Tok]:
    """The tokens under `tree` in source order (iterative: expressions nest up to the parser's depth limit)."""
    out: list[Tok] = []
    stack: list[tuple[Tree | Token, str, bool]] = [(tree, rule, False)]
    while stack:
        node, parent, op = stack.pop()
        if isinstance(node, Token):
            out.append(Tok(str(node), node.type, parent, op, node.start_pos, node.line, node.end_line or node.line,
                           node.column))
            continue
        binary = node.data in BINARY_RULES
        for i in range(len(node.children) - 1, -1, -1):
            child = node.children[i]
            stack.append((child, str(node.data), binary and i % 2 == 1 and isinstance(child, Token)))
    return out
