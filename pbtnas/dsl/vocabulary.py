"""The words and token shapes of the `.nas` language, read from their sources of truth without importing torch.

Editor files (the TextMate grammar, the Vim syntax, the language configuration) are generated from this, so they
follow `grammars/nas.lark` and the op library instead of keeping their own copies:

- keywords, operators and the token patterns (names, numbers, strings, comments) come from the lark grammar;
- op names, the language's reserved names and its on/off literals come from the op library (`pbtnas.layers.ops`,
  which loads torch only when a module is built).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.lexer import PatternRE, PatternStr

from pbtnas.dsl.parser import GRAMMAR_PATH
from pbtnas.layers import BUILTIN_OPS
from pbtnas.layers import ops as op_library

# The regular-expression terminals of nas.lark an editor file knows how to colour. A new one must be given a
# scope (pbtnas/dsl/textmate.py) before the editor files can be generated: silently leaving it uncoloured is drift.
TOKEN_TERMINALS = ("NAME", "INT", "FLOAT", "STRING", "COMMENT")
IGNORED_TERMINALS = ("WS",)


class VocabularyError(Exception):
    """A source of truth has a shape the generator does not understand; the message says what to change."""


@dataclass(frozen=True)
class Vocabulary:
    keywords: tuple[str, ...]      # every word literal of the grammar (`space`, `slot`, `if`, ...)
    operators: tuple[str, ...]     # every other literal (`->`, `>>`, `(`, `,`, ...), longest first
    patterns: dict[str, str]       # TOKEN_TERMINALS -> the terminal's regular expression, as in nas.lark
    ops: tuple[str, ...]           # the op library's names, sorted
    reserved: tuple[str, ...]      # names the language gives meaning to: none, identity, residual, sum, cat
    booleans: tuple[str, ...]      # the on/off literals: on, true, yes, off, false, no

    @property
    def line_comment(self) -> str:
        """The text that starts a line comment, read off the COMMENT terminal (`#[^\\n]*` -> `#`)."""
        match = re.fullmatch(r"((?:\\.|[^\\\[\](){}.*+?|^$])+)\[\^\\n\]\*", self.patterns["COMMENT"])
        if match is None:
            raise VocabularyError(f"COMMENT is `{self.patterns['COMMENT']}`; the editor files expect a line comment "
                                  "`PREFIX[^\\n]*`: teach pbtnas/dsl/vocabulary.py the new form")
        return re.sub(r"\\(.)", r"\1", match.group(1))

    @property
    def string_quote(self) -> str | None:
        pattern = self.patterns.get("STRING")
        return pattern[0] if pattern else None


@lru_cache(maxsize=4)  # building lark's parser is the slow part; the text is the key, so an edit is seen
def grammar_literals(grammar_text: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(keywords, operators, regex terminals) of a lark grammar, as its LALR lexer sees them."""
    parser = Lark(grammar_text, parser="lalr", lexer="contextual")
    name_re = next((t.pattern.value for t in parser.terminals if t.name == "NAME"), None)
    if name_re is None:
        raise VocabularyError("nas.lark has no NAME terminal; the editor files colour names with it")
    keywords, operators, patterns = [], [], {}
    for terminal in parser.terminals:
        if isinstance(terminal.pattern, PatternStr):
            literal = terminal.pattern.value
            (keywords if re.fullmatch(name_re, literal) else operators).append(literal)
        elif isinstance(terminal.pattern, PatternRE):
            if terminal.name in IGNORED_TERMINALS:
                continue
            if terminal.name not in TOKEN_TERMINALS:
                raise VocabularyError(
                    f"nas.lark has a terminal {terminal.name} (`{terminal.pattern.value}`) that the editor files "
                    "do not know: give it a scope in pbtnas/dsl/textmate.py and pbtnas/dsl/vimsyntax.py and add it "
                    "to TOKEN_TERMINALS in pbtnas/dsl/vocabulary.py")
            # lark turns the grammar's `\n` into a real line break; editors' pattern files want the escape back.
            patterns[terminal.name] = terminal.pattern.value.replace("\n", "\\n")
    missing = [name for name in TOKEN_TERMINALS if name not in patterns]
    if missing:
        raise VocabularyError(f"nas.lark no longer defines {', '.join(missing)}; remove it from TOKEN_TERMINALS in "
                              "pbtnas/dsl/vocabulary.py and from the editor generators")
    return sorted(set(keywords)), sorted(set(operators), key=lambda s: (-len(s), s)), patterns


def load(grammar_path: Path = GRAMMAR_PATH) -> Vocabulary:
    keywords, operators, patterns = grammar_literals(grammar_path.read_text())
    return Vocabulary(
        keywords=tuple(keywords), operators=tuple(operators), patterns=dict(patterns),
        ops=tuple(sorted(BUILTIN_OPS)), reserved=tuple(sorted(op_library.RESERVED)),
        booleans=tuple(sorted(op_library.BOOL_TRUE) + sorted(op_library.BOOL_FALSE)))
