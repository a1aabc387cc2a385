"""The formatter's round trip on generated `.nas` files: the fuzz generators of nas_fuzz (token and line edits,
splices, numeric edge values, nesting, blank lines and comments, mixes) and a re-layout of the real spaces (random
whitespace, line breaks and comments between their tokens).

For every input: text the parser refuses is refused by the formatter with the same diagnostics; otherwise the
formatted text is a fixed point (formatting twice changes nothing), keeps every comment in order, and compiles to
exactly what the input compiles to: the same artifact and schema hash, the same warnings, or the same error codes.

The suite runs SUITE_EXAMPLES (300) inputs in a few seconds. A longer campaign:
    PBTNAS_FMT_FUZZ=5000 python -m pytest -q tests/dsl/test_format_fuzz.py    # examples per family
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nas_fuzz import ALL, EDGE_NUMBERS, MUTATION, NOISE_LINES, fast, insert_lines, mutate, nest, replace_number, splice

from pbtnas.compiler import compile_text
from pbtnas.dsl.diagnostics import DiagnosticError
from pbtnas.dsl.format import format_source
from pbtnas.dsl.parser import parse

CAMPAIGN = int(os.environ.get("PBTNAS_FMT_FUZZ", "0"))  # examples per family; 0: the suite's counts
# The small spaces compile in milliseconds, the others in a tenth of a second and more (twice per input): the
# suite mutates the small ones (test_format.py re-lays out and compiles every space), a campaign all of them.
NAMES = sorted(ALL) if CAMPAIGN else ["digits", "drqv2_state", "mlp"]
WEIGHTED = [n for n in NAMES for _ in range({"mlp": 6, "drqv2_state": 3, "digits": 3}.get(n, 1))]
SPACE = st.sampled_from(WEIGHTED)

SUITE = {"relayout": 120, "token_edits": 60, "noise_lines": 40, "mixed": 40, "numbers": 20, "nesting": 20}
SUITE_EXAMPLES = sum(SUITE.values())
assert SUITE_EXAMPLES == 300

# whitespace between two tokens, as an author might have written it: spaces, tabs, line breaks, comments
GAPS = [" ", "  ", "\t", "\n", "\n\n", "\n   ", " # a comment\n", "\n# own line\n  ", "\r\n", "   #x\n\n",
        " \n \n "]


@st.composite
def relayout(draw: Callable) -> str:
    """A real space with whitespace runs between its tokens replaced: the same meaning, another layout. (The text
    of a comment and the line break that ends it are kept.)"""
    text = ALL[draw(SPACE)]
    rng = draw(st.randoms(use_true_random=False))  # one draw, not one per gap: hypothesis stays fast
    out, pos, after_comment = [], 0, False
    for m in re.finditer(r"#[^\n]*|[ \t\r\n]+", text):
        out.append(text[pos:m.start()])
        keep = m.group().startswith("#") or after_comment or rng.random() < 0.75
        out.append(m.group() if keep else rng.choice(GAPS))
        after_comment = m.group().startswith("#")
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


@st.composite
def token_edits(draw: Callable) -> str:
    return mutate(ALL[draw(SPACE)], draw(st.lists(MUTATION, min_size=1, max_size=3)))


@st.composite
def noise_lines(draw: Callable) -> str:
    where = draw(st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(NOISE_LINES)), min_size=1, max_size=6))
    return insert_lines(ALL[draw(SPACE)], where)


@st.composite
def numbers(draw: Callable) -> str:
    return replace_number(ALL[draw(SPACE)], draw(st.integers(0, 500)), draw(st.sampled_from(EDGE_NUMBERS)))


@st.composite
def nesting(draw: Callable) -> str:
    return nest(ALL[draw(SPACE)], draw(st.integers(0, 500)), draw(st.sampled_from([1, 2, 10, 50, 150])),
                draw(st.sampled_from(["parens", "minus", "sum"])))


@st.composite
def mixed(draw: Callable) -> str:
    text = draw(relayout())
    for op in draw(st.lists(st.sampled_from(["tokens", "noise", "splice"]), min_size=1, max_size=2)):
        if op == "tokens":
            text = mutate(text, draw(st.lists(MUTATION, min_size=1, max_size=2)))
        elif op == "noise":
            text = insert_lines(text, [(draw(st.integers(0, 1000)), draw(st.sampled_from(NOISE_LINES)))])
        else:
            text = splice(text, ALL[draw(st.sampled_from(WEIGHTED))], draw(st.integers(0, 5000)),
                          draw(st.integers(0, 5000)), draw(st.integers(1, 20)))
    return text


STRATEGIES = {"relayout": relayout(), "token_edits": token_edits(), "noise_lines": noise_lines(), "mixed": mixed(),
              "numbers": numbers(), "nesting": nesting()}
COMMENT = re.compile(r'"[^"\n]*"|(#[^\n]*)')


def _comments(text: str) -> list[str]:
    return [m.group(1).rstrip() for m in COMMENT.finditer(text) if m.group(1)]


def _compiled(text: str) -> tuple:
    try:
        space = compile_text(text, "fuzz.nas")
    except DiagnosticError as err:
        return "refused", sorted(d.code for d in err.diagnostics)
    warnings = sorted((w.code, w.message) for w in space.warnings)
    return "compiled", space.schema_hash, space.artifact, warnings


def round_trip(text: str) -> str:
    """Check one input; returns what happened to it."""
    try:
        parse(text, "fuzz.nas")
    except DiagnosticError as refused:
        with pytest.raises(DiagnosticError) as again:
            format_source(text, "fuzz.nas")
        assert again.value.diagnostics == refused.diagnostics
        return "does not parse"
    formatted = format_source(text, "fuzz.nas")
    assert format_source(formatted, "fuzz.nas") == formatted, "not idempotent"
    assert _comments(formatted) == _comments(text)
    assert not any(line != line.rstrip() for line in formatted.split("\n")), "trailing whitespace"
    before, after = _compiled(text), _compiled(formatted)
    assert before == after
    return before[0]


@pytest.mark.parametrize("family", list(SUITE))
def test_formatting_generated_files_keeps_their_meaning(family: str) -> None:
    outcome: Counter[str] = Counter()
    n = CAMPAIGN or SUITE[family]

    @fast(n)
    @given(STRATEGIES[family])
    def one(text: str) -> None:
        outcome[round_trip(text)] += 1

    one()
    assert sum(outcome.values()) == n, outcome
    # a family that never reaches the formatter, or never reaches the compiler, tests nothing
    assert outcome["compiled"] + outcome["refused"] > 0, outcome
    if family in ("relayout", "noise_lines"):
        assert outcome["compiled"] == n, outcome
    print(f"{family}: {dict(outcome)}")
