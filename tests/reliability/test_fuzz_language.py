"""The language fuzzing campaign: 10,000 generated and mutated `.nas` inputs (5,000 in `make test`;
PBTNAS_FUZZ_FULL=1 for all), all derived from the real space files in spaces/, each ending in a compiled space or in
a DiagnosticError whose every diagnostic points inside the input.

Families (example counts in FULL_FAMILIES; their sum is FULL_SIZE = 10,000):
token edits (delete/duplicate/swap/move, also of whole lines), splices of one space's tokens into another,
character edits (insert/delete/replace, with unicode and control characters), truncations, numeric edge values
where ints belong, deep nesting (parentheses, unary minus, wide sums), blank lines and comments, and a mix of them.

Hypothesis runs derandomized (the same inputs on every machine, no example database) and with no deadline; each
input instead runs under the oracle's SIGALRM guard (nas_fuzz.GUARD_SECONDS), so a hang fails the test with its
input, and a faulthandler backstop ends the run past nas_fuzz.BACKSTOP_SECONDS (a hang in C code holding the GIL). The suite's
5,000 take about 2 minutes on the 2-core machine; docs/security.md has the measured figures.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dsl"))  # the shared strategies in tests/dsl

from nas_fuzz import (  # noqa: E402
    ALL,
    BACKSTOP_SECONDS,
    EDGE_NUMBERS,
    MUTATION,
    NOISE_LINES,
    UNICODE,
    backstop,
    char_edit,
    check,
    fast,
    insert_lines,
    mutate,
    nest,
    replace_number,
    splice,
    tokens,
)



@pytest.fixture(autouse=True)
def _backstop() -> Iterator[None]:
    with backstop(BACKSTOP_SECONDS):
        yield

# The seeds are the files of spaces/*.nas; darts.nas at 5 cells instead of 20 (the same constructs: normal and
# reduction cells, picks, tied genotypes; one reduction cell each way), since at 20 a mutant that still compiles
# costs ~0.25 s to elaborate and DARTS alone took a third of the campaign's time.
SEEDS = {**ALL, "darts": ALL["darts"].replace("const cells = 20 ", "const cells = 5  ", 1)}
assert SEEDS["darts"] != ALL["darts"], "darts.nas no longer declares `const cells = 20`: update SEEDS"

# Every family draws the space it mutates from all of them, weighted towards the small files: a mutant of
# ganhard.nas that still parses costs ~0.1 s to elaborate, one of mlp.nas ~3 ms.
NAMES = sorted(SEEDS)
WEIGHTED = [n for n in NAMES for _ in range({"mlp": 6, "drqv2_state": 4, "digits": 3}.get(n, 1))]
SPACE = st.sampled_from(WEIGHTED)

# The full campaign is 10,000 inputs; `make test` runs 5,000 (half of each family, derandomized: the same inputs on
# every machine) to keep the suite under its time budget. PBTNAS_FUZZ_FULL=1 runs all 10,000.
FULL_FAMILIES: dict[str, int] = {
    "token_edits": 2400,
    "splices": 1200,
    "char_edits": 1600,
    "truncations": 800,
    "numbers": 1400,
    "nesting": 600,
    "noise_lines": 800,
    "mixed": 1200,
}
FULL_SIZE = 10_000
assert sum(FULL_FAMILIES.values()) == FULL_SIZE
SCALE = 1 if os.environ.get("PBTNAS_FUZZ_FULL") == "1" else 2
FAMILIES = {family: n // SCALE for family, n in FULL_FAMILIES.items()}
CAMPAIGN_SIZE = FULL_SIZE // SCALE
assert sum(FAMILIES.values()) == CAMPAIGN_SIZE

OUTCOMES: dict[str, Counter[str]] = {}  # family -> {"compiled": n, "diagnosed": n}


def run_family(family: str, strategy: st.SearchStrategy[str]) -> Counter[str]:
    """Feed ``FAMILIES[family]`` inputs from ``strategy`` to the oracle and count what happened to them."""
    outcome: Counter[str] = Counter()
    inputs: set[str] = set()

    @fast(FAMILIES[family])
    @given(strategy)
    def one(text: str) -> None:
        space = check(text, located=True)
        outcome["compiled" if space is not None else "diagnosed"] += 1
        inputs.add(text)

    t0 = time.perf_counter()
    one()
    outcome["seconds"] = round(time.perf_counter() - t0)
    outcome["distinct"] = len(inputs)
    OUTCOMES[family] = outcome
    # exactly the announced number of inputs ran (hypothesis did not stop early), nearly all of them different
    assert outcome["compiled"] + outcome["diagnosed"] == FAMILIES[family], outcome
    assert outcome["distinct"] >= 0.8 * FAMILIES[family], outcome
    return outcome


@st.composite
def token_edits(draw: Callable) -> str:
    return mutate(SEEDS[draw(SPACE)], draw(st.lists(MUTATION, min_size=1, max_size=5)))


@st.composite
def splices(draw: Callable) -> str:
    a, b = draw(SPACE), draw(st.sampled_from(NAMES))
    return splice(SEEDS[a], SEEDS[b], draw(st.integers(0, 5000)), draw(st.integers(0, 5000)), draw(st.integers(1, 40)))


CHARS = st.one_of(st.sampled_from(UNICODE), st.characters(), st.sampled_from(list("{}[]()<>:=,.#\"-+*/|?!")))


@st.composite
def char_edits(draw: Callable) -> str:
    text = SEEDS[draw(SPACE)]
    for _ in range(draw(st.integers(1, 4))):
        text = char_edit(text, draw(st.sampled_from(["insert", "delete", "replace"])), draw(st.integers(0, 20_000)),
                         draw(CHARS))
    return text


@st.composite
def truncations(draw: Callable) -> str:
    text = SEEDS[draw(st.sampled_from(NAMES))]
    cut = draw(st.integers(0, len(text)))
    return text[:cut] if draw(st.booleans()) else text[cut:]  # a prefix, or a file that starts mid-way


@st.composite
def numbers(draw: Callable) -> str:
    text = SEEDS[draw(SPACE)]
    for _ in range(draw(st.integers(1, 3))):
        value = draw(st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers(-(2**70), 2**70).map(str),
                               st.floats(allow_nan=False, allow_infinity=False).map(repr)))
        text = replace_number(text, draw(st.integers(0, 500)), value)
    return text


@st.composite
def nesting(draw: Callable) -> str:
    text = SEEDS[draw(SPACE)]
    depth = draw(st.sampled_from([1, 2, 10, 50, 200, 1000, 5000]))
    return nest(text, draw(st.integers(0, 500)), depth, draw(st.sampled_from(["parens", "minus", "sum"])))


@st.composite
def noise_lines(draw: Callable) -> str:
    where = draw(st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(NOISE_LINES)), min_size=1, max_size=6))
    return insert_lines(SEEDS[draw(SPACE)], where)


@st.composite
def mixed(draw: Callable) -> str:
    """Two or three operators of different families on one file."""
    text = SEEDS[draw(SPACE)]
    for op in draw(st.lists(st.sampled_from(["tokens", "char", "number", "noise", "splice"]), min_size=2,
                            max_size=3)):
        if op == "tokens":
            text = mutate(text, draw(st.lists(MUTATION, min_size=1, max_size=2)))
        elif op == "char":
            text = char_edit(text, draw(st.sampled_from(["insert", "delete", "replace"])),
                             draw(st.integers(0, 20_000)), draw(CHARS))
        elif op == "number":
            text = replace_number(text, draw(st.integers(0, 500)), draw(st.sampled_from(EDGE_NUMBERS)))
        elif op == "noise":
            text = insert_lines(text, [(draw(st.integers(0, 1000)), draw(st.sampled_from(NOISE_LINES)))])
        else:
            text = splice(text, SEEDS[draw(st.sampled_from(NAMES))], draw(st.integers(0, 5000)),
                          draw(st.integers(0, 5000)), draw(st.integers(1, 20)))
    return text


STRATEGIES = {"token_edits": token_edits(), "splices": splices(), "char_edits": char_edits(),
              "truncations": truncations(), "numbers": numbers(), "nesting": nesting(), "noise_lines": noise_lines(),
              "mixed": mixed()}


def test_the_operators_derive_inputs_from_every_real_space():
    assert set(SEEDS) >= {"gan", "ganhard", "drqv2", "digits", "mlp", "nb201", "darts", "ofa_mbv3"}
    assert all(tokens(t) for t in SEEDS.values())
    for name, text in SEEDS.items():
        check(text, located=True)  # the seeds themselves compile
        assert "".join(tokens(text)) == text, name


@pytest.mark.parametrize("family", list(FAMILIES))
def test_campaign(family: str) -> None:
    outcome = run_family(family, STRATEGIES[family])
    # Meaningful fuzzing reaches past the parser: every family except the most destructive ones must leave some
    # inputs that still compile, and every family must produce diagnostics.
    if family == "noise_lines":  # blank lines and comments (with tabs, CRLF, unicode) never break a valid file
        assert outcome["compiled"] == FAMILIES[family], outcome
    else:
        assert outcome["diagnosed"] > 0, outcome
    if family in ("token_edits", "numbers", "noise_lines", "nesting", "char_edits", "mixed"):
        assert outcome["compiled"] > 0, outcome
    print(f"{family}: {dict(outcome)}")
