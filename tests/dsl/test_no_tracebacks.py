"""No tracebacks, ever: random text, mutations and truncations of the real space files end in a DiagnosticError (or
compile), never in any other exception; `pbtnas check` on such inputs exits 0 or 1 without a Python traceback.

Hypothesis runs derandomized with fixed example counts so CI is reproducible; together these tests take well
under a minute on a shared 2-core machine (the big paper spaces get few examples: each compile costs ~0.3 s).
Every input runs under the oracle's SIGALRM guard and every test under a faulthandler backstop; the last tests of
this file show that both stop a hang.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nas_fuzz
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nas_fuzz import (
    BACKSTOP_SECONDS,
    BIG,
    MUTATION,
    SMALL,
    SPACES,
    VOCAB,
    Hang,
    backstop,
    check,
    fast,
    mutate,
    time_guard,
    tokens,
)
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.compiler import DiagnosticError, compile_text



@pytest.fixture(autouse=True)
def _backstop() -> Iterator[None]:
    with backstop(BACKSTOP_SECONDS):
        yield


def test_tokenizer_round_trips_the_spaces():
    for text in [*SMALL.values(), *BIG.values()]:
        assert "".join(tokens(text)) == text


@fast(100)
@given(st.text(max_size=300))
def test_random_text(text):
    check(text)


@fast(200)
@given(st.lists(st.sampled_from(VOCAB), max_size=80))
def test_token_soup(words):
    check(" ".join(words))


@fast(200)
@given(st.sampled_from(sorted(SMALL)), st.lists(MUTATION, min_size=1, max_size=4))
def test_mutations_of_small_spaces(name, ops):
    check(mutate(SMALL[name], ops))


@fast(20)
@given(st.sampled_from(sorted(BIG)), st.lists(MUTATION, min_size=1, max_size=3))
def test_mutations_of_paper_spaces(name, ops):
    check(mutate(BIG[name], ops))


@fast(40)
@given(st.sampled_from(sorted({**SMALL, **BIG})), st.floats(0, 1))
def test_truncations_of_every_space(name, where):
    text = {**SMALL, **BIG}[name]
    check(text[: int(where * len(text))])


SAMPLE = """space s
const w = 4
options E[H, W]: [w, H, W] -> [w, H, W] { none = none, skip = identity, c3 = relu >> conv(w, k=3, pad=1) }
block Cell[H, W](x: [w, H, W]) -> [w, H, W] {
  slot e0: E
  param on1: [off, on]
  n = sum(x >> e0, x if on1) ?? x
  return n
}
network net(x: [w, 8, 8]) -> [2] {
  c = Cell(x=x)
  return c >> global_avg_pool >> linear(2)
}
"""


def test_sample_compiles_and_every_truncation_is_diagnosed():
    check(SAMPLE)
    compile_text(SAMPLE)  # the untruncated sample is valid
    for cut in range(len(SAMPLE)):
        check(SAMPLE[:cut])


# Language v2's input selection, tensor products and gene arithmetic in integer arguments, in one small file.
SAMPLE_V2 = """space s2
const C = 4
options OPS[H, W]: [C, H, W] -> [C, H, W] { skip = identity, c3 = relu >> conv(C, k=3, pad=1) }
network net(x: [C, 8, 8]) -> [2] {
  param k: [3, 5]
  param e: [2, 3]
  s0 = x >> conv(C * e, k=1) >> conv(C * e, k=k, pad=(k - 1) // 2, groups=C * e) >> conv(C, k=1)
  s1 = s0 * (s0 >> global_avg_pool >> linear(C) >> sigmoid)
  n0 = s0 + s1
  pick inputs: 2 of [s0, s1, n0]
  slot a: OPS
  y = a(inputs[0]) + inputs[1] if inputs[0] in [s0] else inputs[1]
  return y >> global_avg_pool >> linear(2)
}
"""


def test_v2_sample_compiles_and_every_truncation_is_diagnosed():
    assert compile_text(SAMPLE_V2).size == 2 * 2 * 3 * 2
    for cut in range(0, len(SAMPLE_V2), 3):
        check(SAMPLE_V2[:cut])


@fast(60)
@given(st.lists(MUTATION, min_size=1, max_size=3))
def test_v2_sample_mutations_never_raise_a_traceback(ops):
    check(mutate(SAMPLE_V2, ops))


def test_pathological_nesting_is_a_diagnostic_not_a_recursion_error():
    for text in ["network n(x: [1]) -> [1] { return x" + " >> relu" * 3000 + " }",
                 "const a = " + "-" * 3000 + "1", "const a = " + "1+" * 3000 + "1",
                 "network n(x: [1]) -> [1] { return x" + " ?? x" * 2000 + " }",
                 "const a = " + "(" * 3000 + "1" + ")" * 3000]:
        with pytest.raises(DiagnosticError):
            compile_text(text)
    # a long but reasonable pipeline is fine
    compile_text("network n(x: [1]) -> [1] { return x" + " >> relu" * 150 + " }")


# ---- the CLI ------------------------------------------------------------------------------------------------------

runner = CliRunner()


@fast(25)
@given(st.sampled_from(sorted(SMALL)), st.lists(MUTATION, min_size=0, max_size=3), st.booleans())
def test_cli_check_never_prints_a_traceback(tmp_path_factory, name, ops, as_json):
    path = tmp_path_factory.mktemp("fuzz") / "space.nas"
    path.write_text(mutate(SMALL[name], ops) if ops else SMALL[name])
    args = ["check", str(path)] + (["--format", "json"] if as_json else [])
    with time_guard(nas_fuzz.GUARD_SECONDS):
        result = runner.invoke(app, args)
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 1), (result.exit_code, out, result.exception)
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("args", [
    ["check", "no/such/file.nas"],
    ["check", "{spaces}/digits.nas", "--set", "width"],
    ["check", "{spaces}/digits.nas", "--set", "nope=1"],
    ["check", "{spaces}/digits.nas", "--set", "width=abc"],
    ["check", "{spaces}"],  # a directory
    ["check", "{binary}"],  # not UTF-8
    ["check", "{spaces}/digits.nas", "--plugin", "no_such_plugin_module"],
])
def test_cli_bad_inputs_exit_1_without_traceback(args, tmp_path):
    binary = tmp_path / "binary.nas"
    binary.write_bytes(b"\xff\xfe\x00\x81 space")
    args = [a.format(spaces=SPACES, binary=binary) for a in args]
    result = runner.invoke(app, args)
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 1, out
    assert "Traceback" not in out
    assert "error" in out


# ---- the hang guards ------------------------------------------------------------------------------------------------


def _hang(*args: object, **kwargs: object) -> None:
    while True:  # a compiler stuck in a Python loop
        pass


def test_the_oracle_fails_an_input_that_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nas_fuzz, "compile_text", _hang)
    before = signal.getsignal(signal.SIGALRM)
    t0 = time.monotonic()
    with pytest.raises(Hang):
        check("space s", guard=0.2)
    assert time.monotonic() - t0 < 5
    # the guard leaves no alarm armed and puts the previous handler back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before


def test_a_hang_under_hypothesis_fails_the_example_instead_of_stalling(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fuzz tests' settings (deadline=None), a hanging input raises Hang in the example."""
    monkeypatch.setattr(nas_fuzz, "compile_text", _hang)

    @fast(3)
    @given(st.sampled_from(sorted(SMALL)))
    def one(name: str) -> None:
        check(SMALL[name], guard=0.2)

    t0 = time.monotonic()
    with pytest.raises(Hang):
        one()
    assert time.monotonic() - t0 < 30


def test_the_backstop_ends_a_hang_in_c_code() -> None:
    """One C call that loops without checking for signals (builtin sum over a huge range, as a big-int computation
    would) holds the GIL: SIGALRM's Python handler (and any Python timer thread, as in pytest-timeout) never runs.
    The backstop still ends the process, with exit 1 and the stack."""
    code = (f"import sys; sys.path.insert(0, {str(Path(nas_fuzz.__file__).parent)!r}); import nas_fuzz\n"
            "with nas_fuzz.backstop(2), nas_fuzz.time_guard(1):\n"
            "    sum(range(10**12))\n")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert time.monotonic() - t0 < 60
    assert proc.returncode == 1, proc
    assert "Timeout" in proc.stderr and "<string>" in proc.stderr, proc.stderr
