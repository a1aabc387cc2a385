"""The generated TextMate grammar, run with Python's `re` on every file in spaces/, against lark's own parse.

lark's tokens (with `keep_all_tokens`, so keywords and punctuation stay in the tree) say what each piece of text is
and where it sits in the grammar; the grammar must give it the intended scope: keywords their keyword scope, op
names the op scope, numbers, strings and comments theirs, declared genes, options and shape dimensions theirs, and
no character outside whitespace may be left with the file's root scope alone.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
from lark import Token

from pbtnas.dsl import textmate as tm
from pbtnas.dsl import vocabulary
import nas_tokens
from textmate_engine import Grammar

REPO = Path(__file__).resolve().parents[2]
GRAMMAR_JSON = REPO / "editors" / "vscode" / "syntaxes" / "nas.tmLanguage.json"
SPACES = sorted((REPO / "spaces").glob("*.nas"))
VOC = vocabulary.load()


@lru_cache(maxsize=1)
def grammar() -> Grammar:
    return Grammar(json.loads(GRAMMAR_JSON.read_text()))


def _regexes(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end") and isinstance(value, str):
                yield value
            else:
                yield from _regexes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _regexes(item)


# Oniguruma-only (or differently read) constructs: `\h` is hex in Oniguruma, a word character in Vim; `\G`, `\A`,
# `\z`, atomic and possessive groups, named groups and properties have no meaning (or another one) in Python's `re`.
NOT_COMMON = re.compile(r"\\[GAzZhHKRX]|\(\?>|\(\?<[A-Za-z]|\\p\{|[*+?}][+]|\(\?[imx]+[):]")


def test_every_pattern_is_in_the_subset_both_engines_read():
    patterns = list(_regexes(grammar().data))
    assert len(patterns) > 40
    for pattern in patterns:
        re.compile(pattern)  # raises on anything Python's `re` cannot read
        assert not NOT_COMMON.search(pattern), f"pattern {pattern!r} uses a construct outside the common subset"
        if "(?<" in pattern:  # Oniguruma and `re` both want a fixed-width lookbehind
            for body in re.findall(r"\(\?<[=!]((?:\\.|[^)])*)\)", pattern):
                assert re.fullmatch(r"(?:\\.|[^\\*+?{|])*", body), f"variable-width lookbehind in {pattern!r}"


def _in_shape(ancestors: tuple[str, ...]) -> bool:
    """Inside a shape type or shape variables, and not a list literal of an expression (which is not a type)."""
    for rule in reversed(ancestors):
        if rule in ("shape_vars", "shape_type", "tuple_type", "union"):
            return True
        if rule in ("list_literal", "value_list", "call", "kwarg"):
            return False
    return False


def _word_scope(word: str) -> str:
    """The scope a name gets wherever the grammar has no declaration context for it."""
    if word in VOC.keywords:  # a keyword lark accepted as a name (contextual lexer): the grammar sees a keyword
        return tm.KEYWORD_SCOPES[word] + ".nas"
    if word in VOC.ops:
        return tm.OP
    if word == "none":
        return tm.NONE
    if word in VOC.reserved:
        return tm.BUILTIN
    if word in VOC.booleans:
        return tm.BOOLEAN
    return tm.NAME


DECLARED = {
    ("space_decl", 0): "entity.name.namespace.nas", ("const_decl", 0): "variable.other.constant.nas",
    ("init_decl", 0): "support.type.init-kind.nas", ("init_decl", 1): "support.function.init.nas",
    ("values_decl", 0): "variable.other.constant.values.nas", ("options_decl", 0): "entity.name.type.options.nas",
    ("block_decl", 0): "entity.name.type.block.nas", ("network_decl", 0): "entity.name.function.network.nas",
    ("option", 0): tm.OPTION, ("slot_ref", 0): tm.GENE, ("slot_ref", 1): "entity.name.type.options.nas",
    ("slot_inline", 0): tm.GENE, ("param_inline", 0): tm.GENE, ("param_ref", 0): tm.GENE,
    ("param_ref", 1): "variable.other.constant.values.nas", ("pick_stmt", 0): tm.GENE, ("tied", 0): tm.GENE,
    ("for_stmt", 0): "variable.other.loop.nas", ("kwarg", 0): tm.PARAMETER, ("param", 0): tm.PARAMETER,
    ("param_untyped", 0): tm.PARAMETER, ("attr", 0): "variable.other.property.nas",
}


def expected_scope(token: Token, rule: str, index: int, ancestors: tuple[str, ...]) -> str:
    """The scope the grammar must give this token (for punctuation and operators: the scope's first part)."""
    kind = token.type
    if kind == "COMMENT":
        return "comment.line.number-sign.nas"
    if kind in ("INT", "FLOAT"):
        return f"constant.numeric.{'integer' if kind == 'INT' else 'float'}.nas"
    if kind == "STRING":
        return "string.quoted.double.nas"
    if kind != "NAME":
        if str(token) in VOC.keywords:
            return tm.KEYWORD_SCOPES[str(token)] + ".nas"
        return "keyword.operator|punctuation"
    word = str(token)
    if (rule, index) in DECLARED:
        return DECLARED[(rule, index)]
    if _in_shape(ancestors) and word not in VOC.keywords:
        return tm.SHAPE_DIM
    if rule == "name_value" and len(ancestors) > 1 and ancestors[-2] == "value_list":
        return tm.BOOLEAN if word in VOC.booleans else tm.OPTION
    if rule == "call" and index == 0 and _word_scope(word) == tm.NAME:
        return tm.CALL
    return _word_scope(word)


@lru_cache(maxsize=None)
def _check_space(path: Path) -> tuple[int, dict[str, int]]:
    text = path.read_text()
    chars = grammar().tokenize(text)
    lines = text.split("\n")
    counts: dict[str, int] = {}
    problems = []
    tokens = nas_tokens.tokens(text)
    for token, rule, index, ancestors in tokens:
        want = expected_scope(token, rule, index, ancestors)
        line, col = token.line - 1, token.column - 1
        got = {chars[line][c][-1] for c in range(col, col + len(token))}
        ok = len(got) == 1 and (
            any(next(iter(got)).startswith(w) for w in want.split("|")) if "|" in want else got == {want})
        if not ok:
            problems.append(f"{path.name}:{token.line}:{token.column} {str(token)!r} in {rule}: "
                            f"expected {want}, got {sorted(got)}\n    {lines[line]}")
        counts[want] = counts.get(want, 0) + 1
    root = grammar().data["scopeName"]
    for n, (line, scopes) in enumerate(zip(lines, chars), start=1):
        for c, ch in enumerate(line):
            if not ch.isspace() and scopes[c] == (root,):
                problems.append(f"{path.name}:{n}:{c + 1} {ch!r} has no scope\n    {line}")
    assert not problems, f"{len(problems)} tokens mis-scoped:\n" + "\n".join(problems[:30])
    return len(tokens), counts


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.name)
def test_every_token_of_the_spaces_gets_its_scope(path):
    n, counts = _check_space(path)
    assert n > 100
    assert counts.get("comment.line.number-sign.nas", 0) > 0  # every space file explains itself


def test_the_spaces_exercise_every_class_of_token():
    """The per-file test is only as strong as what the spaces contain: together they must use every keyword of
    the grammar and every class of name the grammar distinguishes."""
    totals: dict[str, int] = {}
    keywords_seen = set()
    for path in SPACES:
        _, counts = _check_space(path)
        for scope, n in counts.items():
            totals[scope] = totals.get(scope, 0) + n
        keywords_seen |= set(re.findall(r"\b\w+\b", path.read_text())) & set(VOC.keywords)
    assert keywords_seen == set(VOC.keywords)
    for scope in (tm.GENE, tm.OPTION, tm.SHAPE_DIM, tm.OP, tm.BUILTIN, tm.NONE, tm.BOOLEAN, tm.PARAMETER, tm.CALL,
                  "constant.numeric.integer.nas", "constant.numeric.float.nas",
                  "variable.other.loop.nas", "entity.name.type.block.nas", "entity.name.type.options.nas"):
        assert totals.get(scope, 0) > 0, f"no token of the spaces is expected to get {scope}"


def _scopes_of(text: str) -> list[tuple[str, str]]:
    """(text, innermost scope) runs of a one-line snippet."""
    chars = grammar().tokenize(text)[0]
    runs, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and chars[j] == chars[i]:
            j += 1
        if text[i:j].strip():
            runs.append((text[i:j], chars[i][-1]))
        i = j
    return runs


def test_names_the_grammar_tells_apart_by_context():
    # An op name is an option before `=` in an option body, a keyword argument before `=` in a call, and an op
    # elsewhere; `==` is a comparison, not an assignment.
    runs = _scopes_of("options U[H](C): [C, H] -> [C, 2 * H] { conv_transpose = upsample(scale=2) >> relu }")
    assert ("conv_transpose", tm.OPTION) in runs
    assert ("scale", tm.PARAMETER) in runs and ("upsample", tm.OP) in runs and ("relu", tm.OP) in runs
    assert ("U", "entity.name.type.options.nas") in runs
    assert [s for t, s in runs if t == "H"] == [tm.SHAPE_DIM] * 3
    runs = _scopes_of("y = x if d == 4 else (z if k in [relu, on] else w)")
    assert ("==", "keyword.operator.comparison.nas") in runs
    assert ("relu", tm.OPTION) in runs and ("on", tm.BOOLEAN) in runs
    assert ("else", "keyword.control.conditional.else.nas") in runs
    # `->` is one arrow, `-` a minus; a float with an exponent is one number.
    runs = _scopes_of("network n(x: [3]) -> ([1], [1]) { return x - 1.5e-3 }")
    assert runs.count(("->", "keyword.operator.arrow.nas")) == 1
    assert ("-", "keyword.operator.arithmetic.nas") in runs and ("1.5e-3", "constant.numeric.float.nas") in runs
    # A name that merely contains a keyword or an op is a plain name; a comment hides everything after `#`.
    runs = _scopes_of("format = convolve >> relu_like  # slot param conv")
    assert ("format", tm.NAME) in runs and ("convolve", tm.NAME) in runs and ("relu_like", tm.NAME) in runs
    assert runs[-1] == ("# slot param conv", "comment.line.number-sign.nas")
    # No space uses a string yet; the grammar has them (STRING), with a `#` inside that is not a comment.
    assert ('"a # b"', "string.quoted.double.nas") in _scopes_of('x = f("a # b")')
