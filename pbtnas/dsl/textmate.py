"""The TextMate grammar and the VS Code language configuration of `.nas`, built from the language's vocabulary.

The grammar is data generated here and committed (`editors/vscode/syntaxes/nas.tmLanguage.json`); run
`python -m pbtnas.dsl.editor_files` after changing `grammars/nas.lark` or the op library. Every pattern stays in
the subset of regular expressions that Oniguruma (VS Code) and Python's `re` read alike: `\\b`, `\\s`, classes,
non-capturing groups, lookahead and a fixed-width lookbehind; so the tests can run the grammar with `re`.

What a regular-expression grammar can know is local: keywords, op names, literals, and the names a declaration
introduces (a gene after `slot`/`param`/`pick`, an option before `=` in an option body, a dimension inside a
shape). A gene used later in an expression is just a name here; telling it apart needs the language server's
semantic information.
"""

from __future__ import annotations

import re
from typing import Any

from pbtnas.dsl.vocabulary import Vocabulary, VocabularyError

SCOPE = "source.nas"
GENERATED_BY = "python -m pbtnas.dsl.editor_files"

# Scopes of the grammar's keywords, without the `.nas` suffix. A keyword nas.lark gains gets `keyword.other`
# (coloured as a keyword by every theme) until it is given a better one here; an entry nas.lark lost is an error.
KEYWORD_SCOPES = {
    "space": "storage.type.space", "const": "storage.type.const", "init": "storage.type.init",
    "values": "storage.type.values", "options": "storage.type.options", "block": "storage.type.block",
    "network": "storage.type.network",
    "slot": "storage.type.gene.slot", "param": "storage.type.gene.param", "pick": "storage.type.gene.pick",
    "tied": "storage.modifier.tied",
    "for": "keyword.control.loop.for", "in": "keyword.control.in", "range": "keyword.control.loop.range",
    "return": "keyword.control.return", "of": "keyword.control.of",
    "if": "keyword.control.conditional.if", "else": "keyword.control.conditional.else",
    "and": "keyword.operator.logical.and", "or": "keyword.operator.logical.or", "not": "keyword.operator.logical.not",
}

OPERATOR_SCOPES = {
    "->": "keyword.operator.arrow", ">>": "keyword.operator.pipe", "??": "keyword.operator.coalesce",
    "==": "keyword.operator.comparison", "!=": "keyword.operator.comparison", "=": "keyword.operator.assignment",
    "+": "keyword.operator.arithmetic", "-": "keyword.operator.arithmetic", "*": "keyword.operator.arithmetic",
    "/": "keyword.operator.arithmetic", "//": "keyword.operator.arithmetic", "%": "keyword.operator.arithmetic",
    "**": "keyword.operator.arithmetic", "|": "keyword.operator.union", "?": "keyword.operator.optional",
    "(": "punctuation.section.parens.begin", ")": "punctuation.section.parens.end",
    "[": "punctuation.section.brackets.begin", "]": "punctuation.section.brackets.end",
    "{": "punctuation.section.braces.begin", "}": "punctuation.section.braces.end",
    ",": "punctuation.separator.comma", ":": "punctuation.separator.colon", ".": "punctuation.accessor",
}

# The scopes of the names the grammar can classify (the tests check each against lark's parse of spaces/*.nas).
GENE = "entity.name.variable.gene.nas"
OPTION = "variable.other.enummember.option.nas"
SHAPE_DIM = "entity.name.type.shape.nas"
OP = "support.function.op.nas"
BUILTIN = "support.function.builtin.nas"
NONE = "constant.language.none.nas"
BOOLEAN = "constant.language.boolean.nas"
PARAMETER = "variable.parameter.nas"
CALL = "entity.name.function.call.nas"
NAME = "variable.other.nas"


def _scope(base: str) -> str:
    return f"{base}.nas"


def _words(words: tuple[str, ...] | list[str]) -> str:
    """A regex matching any of the words as a whole word, longest first so no word shadows a longer one."""
    return r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))) + r")\b"


def _non_capturing(pattern: str) -> str:
    """The pattern with its groups made non-capturing, so it can sit inside a rule whose captures are numbered."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


class _Builder:
    def __init__(self, voc: Vocabulary):
        stale = sorted(set(KEYWORD_SCOPES) - set(voc.keywords))
        if stale:
            raise VocabularyError(f"nas.lark has no keyword {', '.join(stale)} any more: remove it from "
                                  "KEYWORD_SCOPES in pbtnas/dsl/textmate.py")
        self.voc = voc
        self.name = f"(?:{_non_capturing(voc.patterns['NAME'])})"

    def kw(self, word: str) -> str:
        return _scope(KEYWORD_SCOPES.get(word, f"keyword.other.{word}"))

    def head(self, word: str, *rest: tuple[str, str]) -> dict[str, Any]:
        """`WORD NAME ...`: a match rule with the keyword's scope on group 1 and `rest` (regex, scope) after it."""
        pattern, captures = rf"\b({re.escape(word)})", {"1": {"name": self.kw(word)}}
        for i, (regex, scope) in enumerate(rest, start=2):
            pattern += regex
            captures[str(i)] = {"name": scope}
        return {"match": pattern, "captures": captures}

    def region(self, begin: str, end: str, begin_scopes: list[str], end_scopes: list[str], patterns: list[str],
               name: str | None = None) -> dict[str, Any]:
        rule: dict[str, Any] = {"begin": begin, "end": end}
        if name:
            rule["name"] = name
        if begin_scopes:
            rule["beginCaptures"] = {str(i): {"name": s} for i, s in enumerate(begin_scopes, start=1)}
        if end_scopes:
            rule["endCaptures"] = {str(i): {"name": s} for i, s in enumerate(end_scopes, start=1)}
        rule["patterns"] = [{"include": p} for p in patterns]
        return rule

    def operators(self) -> dict[str, Any]:
        # One alternation, longest literal first, so `->` is never read as `-` then `>` (or `//` as `/` twice).
        ops = self.voc.operators
        return {"match": "|".join(f"({re.escape(op)})" for op in ops),
                "captures": {str(i): {"name": _scope(OPERATOR_SCOPES.get(op, "keyword.operator"))}
                             for i, op in enumerate(ops, start=1)}}

    def repository(self) -> dict[str, Any]:
        v, n, s = self.voc, self.name, r"\s*"
        op_scope = lambda op: _scope(OPERATOR_SCOPES.get(op, "keyword.operator"))  # noqa: E731
        open_b, close_b = "punctuation.definition.shape.begin.nas", "punctuation.definition.shape.end.nas"
        comment_kind = {"#": "number-sign", "//": "double-slash", "--": "double-dash"}.get(v.line_comment)
        comment_scope = f"comment.line.{comment_kind}.nas" if comment_kind else "comment.line.nas"
        reserved = [r for r in v.reserved if r != "none"]
        repo: dict[str, Any] = {
            "comment": {"match": _non_capturing(v.patterns["COMMENT"]), "name": comment_scope},
            "string": {"match": _non_capturing(v.patterns["STRING"]), "name": "string.quoted.double.nas"},
            "number": {"patterns": [
                {"match": rf"\b{_non_capturing(v.patterns['FLOAT'])}", "name": "constant.numeric.float.nas"},
                {"match": rf"\b{_non_capturing(v.patterns['INT'])}", "name": "constant.numeric.integer.nas"}]},
            "keyword": {"patterns": [{"match": _words([w]), "name": self.kw(w)} for w in v.keywords]},
            "boolean": {"match": _words(v.booleans), "name": BOOLEAN},
            "reserved": {"patterns": ([{"match": _words(["none"]), "name": NONE}] if "none" in v.reserved else [])
                         + [{"match": _words(reserved), "name": BUILTIN}]},
            "op": {"match": _words(v.ops), "name": OP},
            "call": {"match": rf"\b{n}(?={s}\()", "name": CALL},
            "attribute": {"match": rf"(\.){s}({n})",
                          "captures": {"1": {"name": op_scope(".")}, "2": {"name": "variable.other.property.nas"}}},
            "operator": self.operators(),
            "name": {"match": rf"\b{n}", "name": NAME},
            # -- declarations ---------------------------------------------------------------------------------
            "space": self.head("space", (rf"\s+({n})", "entity.name.namespace.nas")),
            "const": self.head("const", (rf"\s+({n})", "variable.other.constant.nas")),
            "init": self.head("init", (rf"\s+({n})", "support.type.init-kind.nas"), (rf"{s}(=)", op_scope("=")),
                              (rf"{s}({n})", "support.function.init.nas")),
            "values-list": self.region(
                rf"\b(values)\s+({n}){s}(=){s}(\[)", r"(\])",
                [self.kw("values"), "variable.other.constant.values.nas", op_scope("="), op_scope("[")],
                [op_scope("]")], ["#value-list-content"]),
            "values": self.head("values", (rf"\s+({n})", "variable.other.constant.values.nas")),
            # An option group runs to the `}` of its option body; its brackets before the body are all shapes.
            "options": self.region(
                rf"\b(options)\s+({n})", r"(?<=\})", [self.kw("options"), "entity.name.type.options.nas"], [],
                ["#comment", "#shape-after", "#shape", "#parameters", "#option-body", "#operator"]),
            # A block's or network's head runs to its body's `{`; the body is ordinary statements.
            "block": self.region(
                rf"\b(block)\s+({n})", r"(?=\{)", [self.kw("block"), "entity.name.type.block.nas"], [],
                ["#comment", "#tuple-type", "#shape-after", "#shape", "#parameters", "#operator"]),
            "network": self.region(
                rf"\b(network)\s+({n})", r"(?=\{)", [self.kw("network"), "entity.name.function.network.nas"], [],
                ["#comment", "#tuple-type", "#shape-after", "#shape", "#parameters", "#operator"]),
            "parameters": self.region(
                r"(\()", r"(\))", [op_scope("(")], [op_scope(")")],
                ["#comment", "#shape-after", "#keyword", "#operator", "#parameter-name"], name="meta.parameters.nas"),
            "parameter-name": {"match": rf"\b{n}", "name": PARAMETER},
            # -- genes ----------------------------------------------------------------------------------------
            "slot-inline": self.region(
                rf"\b(slot)\s+({n})(?={s}:{s}\[)", r"(?<=\})", [self.kw("slot"), GENE], [],
                ["#comment", "#shape-after", "#option-body", "#operator"]),
            "slot-ref": self.head("slot", (rf"\s+({n})", GENE), (rf"{s}(:)", op_scope(":")),
                                  (rf"{s}({n})", "entity.name.type.options.nas")),
            "slot": self.head("slot", (rf"\s+({n})", GENE)),
            "param-list": self.region(
                rf"\b(param)\s+({n}){s}(:){s}(\[)", r"(\])", [self.kw("param"), GENE, op_scope(":"), op_scope("[")],
                [op_scope("]")], ["#value-list-content"]),
            "param-ref": self.head("param", (rf"\s+({n})", GENE), (rf"{s}(:)", op_scope(":")),
                                   (rf"{s}({n})", "variable.other.constant.values.nas")),
            "param": self.head("param", (rf"\s+({n})", GENE)),
            "pick": self.head("pick", (rf"\s+({n})", GENE)),
            "tied": self.head("tied", (rf"\s+({n})", GENE)),
            "for": self.head("for", (rf"\s+({n})", "variable.other.loop.nas")),
            # -- option bodies and value lists: the names there are a gene's options ----------------------------
            "option-body": self.region(r"(\{)", r"(\})", [op_scope("{")], [op_scope("}")],
                                       ["#comment", "#option-name", "$self"], name="meta.options.nas"),
            "option-name": {"match": rf"\b({n}){s}(=)(?!=)",
                            "captures": {"1": {"name": OPTION}, "2": {"name": op_scope("=")}}},
            "in-list": self.region(rf"\b(in){s}(\[)", r"(\])", [self.kw("in"), op_scope("[")], [op_scope("]")],
                                   ["#value-list-content"]),
            "value-list-content": {"patterns": [{"include": "#comment"}, {"include": "#boolean"},
                                                {"include": "#number"}, {"include": "#operator-in-list"},
                                                {"match": rf"\b{n}", "name": OPTION}]},
            "operator-in-list": {"match": r"(-)|(,)", "captures": {"1": {"name": op_scope("-")},
                                                                   "2": {"name": op_scope(",")}}},
            # -- shapes: `: [..]`, `-> [..]`, `| [..]`, shape variables and the elements of a tuple type ----------
            "shape-after": self.region(
                rf"(?:(->)|(:)|(\|)){s}(\[)", r"(\])", [op_scope("->"), op_scope(":"), op_scope("|"), open_b],
                [close_b], ["#shape-content"], name="meta.shape.nas"),
            "shape": self.region(r"(\[)", r"(\])", [open_b], [close_b], ["#shape-content"], name="meta.shape.nas"),
            "tuple-type": self.region(rf"(->){s}(\()", r"(\))", [op_scope("->"), op_scope("(")], [op_scope(")")],
                                      ["#comment", "#shape", "#operator"], name="meta.shape.tuple.nas"),
            "shape-content": {"patterns": [{"include": "#comment"}, {"include": "#number"}, {"include": "#keyword"},
                                           {"include": "#shape-group"}, {"include": "#operator"},
                                           {"match": rf"\b{n}", "name": SHAPE_DIM}]},
            "shape-group": self.region(r"(\()", r"(\))", [op_scope("(")], [op_scope(")")], ["#shape-content"]),
            # -- expressions -----------------------------------------------------------------------------------
            "parens": self.region(r"(\()", r"(\))", [op_scope("(")], [op_scope(")")], ["#keyword-argument", "$self"]),
            "keyword-argument": {"match": rf"\b({n}){s}(=)(?!=)",
                                 "captures": {"1": {"name": PARAMETER}, "2": {"name": op_scope("=")}}},
        }
        return repo


# Top-level order matters where two rules match at the same column: the more specific rule comes first.
TOP_LEVEL = ["comment", "string", "space", "const", "init", "values-list", "values", "options", "block", "network",
             "slot-inline", "slot-ref", "slot", "param-list", "param-ref", "param", "pick", "tied", "for",
             "tuple-type", "shape-after", "in-list", "parens", "keyword", "boolean", "reserved", "op", "call",
             "attribute", "number", "operator", "name"]


def grammar(voc: Vocabulary) -> dict[str, Any]:
    repo = _Builder(voc).repository()
    assert set(TOP_LEVEL) <= set(repo), set(TOP_LEVEL) - set(repo)
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "pbtnas search space",
        "scopeName": SCOPE,
        "fileTypes": ["nas"],
        "comment": f"Generated from grammars/nas.lark and the op library by `{GENERATED_BY}`; do not edit.",
        "patterns": [{"include": f"#{name}"} for name in TOP_LEVEL],
        "repository": repo,
    }


def language_configuration(voc: Vocabulary) -> dict[str, Any]:
    """VS Code's comment, bracket and auto-closing settings, from the grammar's comment and bracket literals."""
    pairs = [pair for pair in (("(", ")"), ("[", "]"), ("{", "}")) if set(pair) <= set(voc.operators)]
    quote = voc.string_quote
    closing = [{"open": o, "close": c} for o, c in pairs]
    if quote:
        closing.append({"open": quote, "close": quote, "notIn": ["string", "comment"]})
    return {
        "comments": {"lineComment": voc.line_comment},
        "brackets": [list(p) for p in pairs],
        "autoClosingPairs": closing,
        "surroundingPairs": [list(p) for p in pairs] + ([[quote, quote]] if quote else []),
        "wordPattern": _non_capturing(voc.patterns["NAME"]),
        # Indent after an opening brace, dedent at a closing one (bodies and option groups are brace blocks).
        "indentationRules": {"increaseIndentPattern": r"^.*\{[^}\"']*$", "decreaseIndentPattern": r"^\s*\}"},
    }
