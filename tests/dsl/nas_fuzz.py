"""Fuzzing material for the `.nas` language, shared by tests/dsl/test_no_tracebacks.py (small, quick) and
tests/reliability/test_fuzz_language.py (the 10,000-input campaign): the real space files, a tokenizer that
round-trips them, mutation operators, hypothesis strategies and the one oracle both use.

The oracle: compiling any text ends either in a usable space or in a DiagnosticError whose every diagnostic
renders and points inside the text. Anything else (another exception, a hang) is a bug.
"""

from __future__ import annotations

import faulthandler
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from pbtnas.compiler import CompiledSpace, DiagnosticError, compile_text
from pbtnas.dsl.diagnostics import render_json, render_text

SPACES = Path(__file__).resolve().parents[2] / "spaces"
ALL = {p.stem: p.read_text() for p in sorted(SPACES.glob("*.nas"))}
SMALL = {name: ALL[name] for name in ("digits", "mlp")}
BIG = {name: ALL[name] for name in ("gan", "drqv2", "ganhard")}


GUARD_SECONDS = 10.0  # one input; the slowest valid space compiles in ~0.15 s, so this only catches real hangs
# A fuzz test still running after this is ended by ``backstop`` (the process exits with every thread's stack): for
# a hang inside C code that holds the GIL, where neither SIGALRM's Python handler nor a Python timer thread (as in
# pytest-timeout) ever gets to run. The longest family of the language campaign takes about 3 minutes when idle.
BACKSTOP_SECONDS = 1200


def fast(n: int) -> settings:
    """Derandomized, no database, no deadline (hypothesis's deadline only reports a slow example after it has
    finished, so it cannot stop a hang; ``check`` runs each input under ``time_guard`` instead): reproducible in
    CI."""
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


TOKEN_RE = re.compile(r'#[^\n]*|"[^"\n]*"|->|>>|\?\?|//|\*\*|==|!=|[A-Za-z_][A-Za-z0-9_]*|\d+\.?\d*|\s+|.')
NUMBER_RE = re.compile(r"\d+\.?\d*")
VOCAB = ["space", "const", "init", "values", "options", "block", "network", "slot", "param", "pick", "of", "return",
         "if", "else",
         "in", "and", "or", "not", "none", "identity", "residual", "sum", "cat", "conv", "linear", "relu",
         "batchnorm", "upsample", "max_pool", "x", "y", "C", "H", "W", "n0", "act", "on", "off", "0", "1", "3",
         "2.5", "-", "+", "*", "//", "**", "%", ">>", "??", "->", "=", "==", ":", ",", ".", "(", ")", "[", "]",
         "{", "}", "|", "?", '"s"', "#c\n", "\n", "for", "range", "tied", "i", "c[i]", "c[i - 1]",
         "c[0]"]

# Numbers where the language expects small positive ints: zero, negatives, values past every machine int, floats.
EDGE_NUMBERS = ["0", "-1", "-0", "1", "2.5", "0.0", "1e3", "9" * 30, str(2**63), str(2**64 + 1), "1" * 400,
                "00007", "3.", ".5", "-99999999999999999999"]
# Unicode that tends to break tokenizers, column arithmetic and terminals: accents, zero-width and bidi marks,
# astral-plane letters, a BOM, full-width digits, combining marks, NUL and other control characters.
UNICODE = ["é", "ß", "\u200b", "\u202e", "\ufeff", "𝑥", "😀", "１", "\u0301", "\x00", "\x07", "\r", "\t", "\u2028",
           "Ω", "中文", "\\", "'", "`", "$", "@"]
NOISE_LINES = ["\n", "\n\n\n", "# a comment\n", "#\n", "   \n", "\t\n", "# é 😀 comment\n", "\r\n"]


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def mutate(text: str, ops: list[tuple[str, int, int]]) -> str:
    """Token or line deletions, duplications, swaps and moves, applied in order."""
    toks = tokens(text)
    for kind, i, j in ops:
        if kind.endswith("line"):
            units = text.splitlines(keepends=True)
        else:
            units = toks
        if not units:
            break
        i, j = i % len(units), j % len(units)
        if kind.startswith("delete"):
            del units[i]
        elif kind.startswith("dup"):
            units.insert(i, units[i])
        elif kind.startswith("swap"):
            units[i], units[j] = units[j], units[i]
        elif kind.startswith("move"):
            units.insert(j, units.pop(i))
        if kind.endswith("line"):
            text = "".join(units)
            toks = tokens(text)
        else:
            toks = units
            text = "".join(toks)
    return text


MUTATION = st.tuples(st.sampled_from(["delete_token", "dup_token", "swap_token", "move_token",
                                      "delete_line", "dup_line", "swap_line", "move_line"]),
                     st.integers(0, 10_000), st.integers(0, 10_000))


def splice(a: str, b: str, i: int, j: int, length: int) -> str:
    """Tokens [j, j+length) of ``b`` inserted at token ``i`` of ``a``: constructs of one space in another."""
    ta, tb = tokens(a), tokens(b)
    i, j = i % (len(ta) + 1), j % max(1, len(tb))
    return "".join(ta[:i] + tb[j:j + length] + ta[i:])


def char_edit(text: str, kind: str, where: int, char: str) -> str:
    if not text:
        return char
    i = where % len(text)
    if kind == "insert":
        return text[:i] + char + text[i:]
    if kind == "delete":
        return text[:i] + text[i + 1:]
    return text[:i] + char + text[i + 1:]  # replace


def replace_number(text: str, which: int, value: str) -> str:
    """The ``which``-th number literal of the text replaced by ``value``."""
    found = list(NUMBER_RE.finditer(text))
    if not found:
        return text + value
    m = found[which % len(found)]
    return text[:m.start()] + value + text[m.end():]


def nest(text: str, where: int, depth: int, kind: str) -> str:
    """Deep nesting at a number literal: parentheses, unary minus chains or long `>>` pipelines at one spot."""
    found = list(NUMBER_RE.finditer(text))
    if not found:
        return text
    m = found[where % len(found)]
    inner = m.group()
    if kind == "parens":
        inner = "(" * depth + inner + ")" * depth
    elif kind == "minus":
        inner = "-" * depth + inner
    else:  # a sum of many terms: wide rather than deep
        inner = " + ".join([inner] * depth)
    return text[:m.start()] + inner + text[m.end():]


def insert_lines(text: str, where: list[tuple[int, str]]) -> str:
    lines = text.splitlines(keepends=True)
    for i, noise in where:
        lines.insert(i % (len(lines) + 1), noise)
    return "".join(lines)


# ---- the oracle ---------------------------------------------------------------------------------------------------


class Hang(Exception):
    """An input that took longer than the per-example guard."""


@contextmanager
def time_guard(seconds: float) -> Iterator[None]:
    """SIGALRM after ``seconds``: a hang becomes a test failure with the input, not a stuck CI job."""
    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"compiling one input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def backstop(seconds: float) -> Iterator[None]:
    """End the process (exit 1, stacks on stderr) if the body runs longer than ``seconds``. faulthandler's watchdog
    is a C thread that needs no GIL, so this stops even a hang in C code; a failure of the whole run, not a stall."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def assert_located(err: DiagnosticError, text: str) -> None:
    """Every diagnostic carries a span inside ``text``: a line that exists (or the one just past the end, where
    "unexpected end of input" points), a column within that line (+1 for the end), and an end not before it."""
    assert err.diagnostics, "a DiagnosticError without diagnostics"
    lines = text.split("\n")
    for d in err.diagnostics:
        assert d.span is not None, f"diagnostic without a location: {d}"
        s = d.span
        assert 1 <= s.line <= len(lines) + 1, (d, len(lines))
        width = len(lines[s.line - 1]) if s.line <= len(lines) else 0
        assert 1 <= s.column <= width + 2, (d, width)
        assert (s.end_line, s.end_column) >= (s.line, s.column), d


def check(text: str, *, located: bool = False, guard: float = GUARD_SECONDS) -> CompiledSpace | None:
    """Compile; a DiagnosticError must render (text and JSON) and point inside the text. ``located``: every
    diagnostic must have a valid span (the campaign's stricter oracle). Returns the space when it compiled.
    The whole check runs under ``time_guard(guard)``: an input that hangs raises ``Hang`` and fails its example."""
    with time_guard(guard):
        return _check(text, located)


def _check(text: str, located: bool) -> CompiledSpace | None:
    try:
        space = compile_text(text, "fuzz.nas")
    except DiagnosticError as err:
        assert err.diagnostics, "a DiagnosticError without diagnostics"
        assert render_text(err.diagnostics, err.source)
        assert render_json(err.diagnostics, err.source)
        if located:
            assert_located(err, text)
        else:
            n_lines = max(1, len(text.splitlines()))
            for d in err.diagnostics:
                if d.span is not None:
                    assert 1 <= d.span.line <= n_lines + 1, (d, n_lines)
        return None
    # a mutation that still compiles must give a usable space
    assert space.size >= 1
    space.validate(space.random_genome(np.random.default_rng(0)))
    return space
