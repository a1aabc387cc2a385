"""The words and token shapes of the `.nas` language, read from their sources of truth without importing torch.

Editor files (the TextMate grammar, the Vim syntax, the language configuration) are generated from this, so they
follow `grammars/nas.lark` and the op library instead of keeping their own copies:

- keywords, operators and the token patterns (names, numbers, strings, comments) come from the lark grammar;
- op names, the language's reserved names and its on/off literals come from `pbtnas/layers/ops.py`, read as source
  with `ast`: importing the op library pulls in torch, which an editor tool must not need. The test
  `tests/editors/test_vocabulary.py` checks this reading against the imported library, so it cannot drift either.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.lexer import PatternRE, PatternStr

from pbtnas.dsl.parser import GRAMMAR_PATH

OPS_PATH = Path(__file__).resolve().parents[1] / "layers" / "ops.py"

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


def _string_set(node: ast.expr) -> set[str] | None:
    """The strings of `frozenset({...})`, `(...)`, `[...]` or `{...}` literals; None for anything else."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return {e.value for e in node.elts}  # type: ignore[union-attr]
    return None


def _is_opspec(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "OpSpec"


def library_names(source: str) -> tuple[list[str], dict[str, set[str]]]:
    """(op names, module-level string sets) of the op library's source.

    An op is an `OpSpec(...)` whose name is a string literal, or whose name is the variable of a `for` loop over a
    literal tuple of strings (how the weightless activations are registered). Any other `OpSpec` is an error, so
    a new way of registering ops fails loudly here instead of leaving ops out of the editors' highlighting.
    """
    tree = ast.parse(source)
    loop_names: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            values = _string_set(node.iter)
            if values is not None:
                loop_names[node.target.id] = values
    ops: set[str] = set()
    for node in ast.walk(tree):
        if not _is_opspec(node):
            continue
        first = node.args[0] if node.args else None  # type: ignore[attr-defined]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            ops.add(first.value)
        elif isinstance(first, ast.Name) and first.id in loop_names:
            ops |= loop_names[first.id]
        else:
            raise VocabularyError(
                f"pbtnas/layers/ops.py line {node.lineno}: an OpSpec whose name is neither a string literal nor a "
                "loop variable over literal strings; the editor generator cannot read it without importing torch "
                "(pbtnas/dsl/vocabulary.py: library_names)")
    constants: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values = _string_set(node.value)
            if values is not None:
                constants[node.targets[0].id] = values
    return sorted(ops), constants


def load(grammar_path: Path = GRAMMAR_PATH, ops_path: Path = OPS_PATH) -> Vocabulary:
    keywords, operators, patterns = grammar_literals(grammar_path.read_text())
    ops, constants = library_names(ops_path.read_text())
    for name in ("RESERVED", "BOOL_TRUE", "BOOL_FALSE"):
        if name not in constants:
            raise VocabularyError(f"pbtnas/layers/ops.py no longer has a literal {name}; the editor generator reads "
                                  "the language's reserved names and on/off literals from it")
    return Vocabulary(
        keywords=tuple(keywords), operators=tuple(operators), patterns=dict(patterns), ops=tuple(ops),
        reserved=tuple(sorted(constants["RESERVED"])),
        booleans=tuple(sorted(constants["BOOL_TRUE"]) + sorted(constants["BOOL_FALSE"])))
