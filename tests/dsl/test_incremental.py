"""ReusingParser (pbtnas/dsl/incremental.py) gives exactly parser.parse's AST, spans included, and its diagnostics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nas_fuzz import ALL, MUTATION, NOISE_LINES, fast, insert_lines, mutate

from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import DiagnosticError, Span
from pbtnas.dsl.incremental import ReusingParser, pieces
from pbtnas.dsl.parser import parse

SPACES = sorted((Path(__file__).resolve().parents[2] / "spaces").glob("*.nas"))
GANHARD = next(p for p in SPACES if p.name == "ganhard.nas")


def dump(x):
    """Every field of the tree, the spans too (the AST's == ignores them)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, *((f.name, dump(getattr(x, f.name))) for f in dataclasses.fields(x)))
    if isinstance(x, (list, tuple)):
        return [dump(v) for v in x]
    if isinstance(x, dict):
        return {k: dump(v) for k, v in x.items()}
    return x


def diagnostics(text: str, parse_fn) -> list[str]:
    with pytest.raises(DiagnosticError) as err:
        parse_fn(text, "f.nas")
    return [f"{d.code} {d.message} {d.span} {d.expected} {d.found} {d.hint}" for d in err.value.diagnostics]


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.name)
def test_the_same_ast_as_parse_for_every_space(path):
    text = path.read_text()
    p = ReusingParser()
    assert dump(p.parse(text)) == dump(parse(text))
    assert len(pieces(text)) > 1 and p.reused == 0
    assert dump(p.parse(text)) == dump(parse(text)) and p.reused == len(pieces(text))  # all reused


def test_edits_reuse_the_unchanged_declarations_and_shift_nothing_wrong():
    text = GANHARD.read_text()
    p = ReusingParser()
    p.parse(text)
    n = len(pieces(text))
    # a constant edited in place: one piece parsed again, every other reused
    edited = text.replace("const df_dim = 128", "const df_dim = 64")
    assert dump(p.parse(edited)) == dump(parse(edited)) and p.reused == n - 1
    # lines added near the top: the pieces below start on other lines, so they are parsed again (spans move)
    grown = edited.replace("const gf_dim = 256\n", "const gf_dim = 256\n\n# a note\n\n")
    assert dump(p.parse(grown)) == dump(parse(grown))
    assert p.reused < n - 1
    span = p.parse(grown).decls[-1].span
    assert span.line == parse(grown).decls[-1].span.line == parse(text).decls[-1].span.line + 3


def test_a_syntax_error_has_the_diagnostic_of_parse_and_the_next_text_parses():
    text = GANHARD.read_text()
    p = ReusingParser()
    p.parse(text)
    broken = text.replace("  b6 = b >> c6 ?? b\n", "  extra = a5 >> \n  b6 = b >> c6 ?? b\n")
    assert diagnostics(broken, p.parse) == diagnostics(broken, parse)
    unclosed = text.replace("const df_dim = 128", "const df_dim = (128")
    assert diagnostics(unclosed, p.parse) == diagnostics(unclosed, parse)
    assert dump(p.parse(text)) == dump(parse(text))


def test_a_keyword_at_the_start_of_a_line_inside_a_declaration():
    # `network` here is an option's name: the cut before it falls inside the group, and the whole text is parsed
    text = ("space s\noptions O: [4] -> [4] {\nnetwork = relu\nsome = identity\n}\n"
            "network n(x: [4]) -> [4] {\n  slot a: O\n  return a(x)\n}\n")
    assert len(pieces(text)) == 4
    p = ReusingParser()
    assert dump(p.parse(text)) == dump(parse(text))
    assert [o.name for o in p.parse(text).decls[1].options] == ["network", "some"]


def test_only_comments_and_an_empty_text():
    p = ReusingParser()
    for text in ("", "# nothing yet\n", "\n\n# a\n  # b\n"):
        assert dump(p.parse(text)) == dump(parse(text))
    assert parse("").span == Span(1, 1, 1, 2)


def test_literal_errors_and_depth_fall_back_to_parse():
    p = ReusingParser()
    text = "space s\nconst a = " + "9" * 150 + "\nconst b = 1\n"
    assert diagnostics(text, p.parse) == diagnostics(text, parse)
    deep = "space s\nconst a = " + "(1 + " * 300 + "1" + ")" * 300 + "\n"
    assert diagnostics(deep, p.parse) == diagnostics(deep, parse)
    assert isinstance(p.parse("space s\n"), ast.Module)


_SHARED = ReusingParser()  # across examples, so that pieces of earlier texts are reused


def _outcome(parse_fn, text: str):
    try:
        return dump(parse_fn(text, "f.nas"))
    except DiagnosticError as err:
        return [f"{d.code} {d.message} {d.span} {d.expected} {d.found} {d.hint}" for d in err.diagnostics]


@fast(80)
@given(name=st.sampled_from(["digits", "mlp", "drqv2_state", "ganhard"]),
       ops=st.lists(MUTATION, min_size=1, max_size=3),
       noise=st.lists(st.tuples(st.integers(0, 1000), st.sampled_from([*NOISE_LINES, "network = x\n", "const\n"])),
                      max_size=2))
def test_edited_spaces_parse_as_parse_parses_them(name, ops, noise):
    text = insert_lines(mutate(ALL[name], ops), noise)
    _SHARED.parse(ALL[name])
    assert _outcome(_SHARED.parse, text) == _outcome(parse, text)
