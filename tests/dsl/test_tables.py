"""The committed LALR tables (pbtnas/dsl/nas_tables.json) are the grammar's, and parsers loaded from them behave
as parsers built from the grammar (options, lexer callback for comments, keep_all_tokens for the formatter)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lark import Lark

from pbtnas.dsl import concrete, parser, tables

GANHARD = Path(__file__).resolve().parents[2] / "spaces" / "ganhard.nas"


@pytest.mark.parametrize("keep_all_tokens", [False, True])
def test_committed_tables_match_the_grammar(keep_all_tokens):
    path = tables.TABLES_PATHS[keep_all_tokens]
    assert tables.generate(keep_all_tokens) == path.read_text(), (
        f"{path.name} was not built from grammars/nas.lark (edited grammar?): "
        f"run `{tables.REGENERATE}` and commit the files")


def test_generation_is_canonical():
    grammar = parser.GRAMMAR_PATH.read_text()
    built = tables.build(grammar)
    assert tables.loads(tables.dumps(built)) == built  # the codec keeps tuples and integer keys
    table = built["data"]["parser"]["parser"]
    assert list(table["tokens"].values()) == sorted(table["tokens"].values())
    assert table["start_states"] == {"start": 0}


def test_the_parsers_come_from_the_tables(monkeypatch):
    built: list[str] = []
    real = Lark.__init__

    def spy(self, grammar, **options):
        built.append(grammar)
        real(self, grammar, **options)

    monkeypatch.setattr(Lark, "__init__", spy)
    grammar = parser.GRAMMAR_PATH
    tables.make_parser(grammar)
    tables.make_parser(grammar, keep_all_tokens=True)
    assert built == []  # loaded, not built


def test_loaded_parsers_equal_built_ones():
    text = GANHARD.read_text()
    grammar = parser.GRAMMAR_PATH.read_text()
    fresh = Lark(grammar, **tables.OPTIONS)
    assert parser._parser().parse(text) == fresh.parse(text)
    fresh_cst = Lark(grammar, **tables.OPTIONS, keep_all_tokens=True)
    tree, comments = concrete.parse_concrete(text)
    assert tree == fresh_cst.parse(text)
    assert comments and all(c.text.startswith("#") for c in comments)  # the COMMENT callback survived loading


@pytest.mark.parametrize("damage", ["other grammar", "not json", "missing"])
def test_stale_or_damaged_tables_fall_back_to_the_grammar(tmp_path, monkeypatch, damage):
    grammar = parser.GRAMMAR_PATH.read_text()
    path = tmp_path / "nas_tables.json"
    monkeypatch.setattr(tables, "TABLES_PATHS", {False: path, True: path})
    if damage == "other grammar":
        path.write_text(tables.dumps(tables.build(grammar + "\n// edited\n")))
    elif damage == "not json":
        path.write_text("{")
    assert tables.load(grammar) is None
    p = tables.make_parser(parser.GRAMMAR_PATH)  # built from the grammar instead
    assert p.parse(GANHARD.read_text()) == Lark(grammar, **tables.OPTIONS).parse(GANHARD.read_text())
