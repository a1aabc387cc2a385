"""Symbolic dimension arithmetic is exact or refused, never silently wrong (issue 16, part 1).

The oracle: evaluating an expression symbolically (over a shape variable and integer genes) and then substituting
values must equal substituting first and evaluating with exact integer/rational arithmetic, at every option of
every gene and for every size whose divisibility obligations hold. Sizes that break an obligation are what the
compiler reports when it binds the shape variable (E0212), so they may differ; everything else must agree.
Over genes alone nothing valid may be refused: a refusal must come with a concrete failure at some option.
"""

from __future__ import annotations

import itertools
import math
import operator
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbtnas.layers import dims
from pbtnas.compiler.elaborate import MAX_EXPONENT
from pbtnas.layers.dims import Dim, DimError

OPS = ("add", "sub", "mul", "floordiv", "mod", "pow", "div")
SIZES = range(1, 25)


class OverLimit(Exception):
    """The compiler refuses a constant exponent above its limit before any arithmetic (E0105)."""


class Refused(Exception):
    """The concrete evaluation has no value (division by zero, a non-integer or huge exponent)."""


# `+ - *` mean the same on numbers and on Dims: one table serves both evaluations.
RING = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


def _concrete(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op in RING:
        return RING[op](a, b)
    if op in ("floordiv", "mod", "div") and b == 0:
        raise Refused
    if op == "floordiv":
        return Fraction(math.floor(a / b))
    if op == "mod":
        return a - b * math.floor(a / b)
    if op == "div":
        return a / b
    if b.denominator != 1 or abs(b) > dims.MAX_EXPONENT_VALUE or (a == 0 and b < 0):
        raise Refused
    return a ** int(b)


def _symbolic(op: str, a: Dim, b: Dim) -> Dim:
    if op in RING:
        return RING[op](a, b)
    if op == "floordiv":
        return a.floordiv(b)
    if op == "mod":
        return a.mod(b)
    if op == "div":
        return a.truediv(b)
    if b.is_const and b.value > MAX_EXPONENT:
        raise OverLimit
    return a.pow(b)


def leaves(with_shape: bool):
    names = ["g", "k"] + (["$H"] if with_shape else [])
    return st.one_of(st.integers(-4, 9).map(lambda v: ("const", v)), st.sampled_from(names).map(lambda n: ("sym", n)))


def expressions(with_shape: bool):
    return st.recursive(leaves(with_shape),
                        lambda inner: st.tuples(st.sampled_from(OPS), inner, inner).map(lambda t: ("op", *t)),
                        max_leaves=6)


def sym_eval(e) -> Dim:
    if e[0] == "const":
        return Dim.const(e[1])
    if e[0] == "sym":
        return Dim.sym(e[1])
    return _symbolic(e[1], sym_eval(e[2]), sym_eval(e[3]))


def conc_eval(e, point: dict[str, int]) -> Fraction:
    if e[0] == "const":
        return Fraction(e[1])
    if e[0] == "sym":
        return Fraction(point[e[1]])
    return _concrete(e[1], conc_eval(e[2], point), conc_eval(e[3], point))


DOMAINS = st.fixed_dictionaries({"g": st.lists(st.integers(-3, 12), min_size=1, max_size=4, unique=True),
                                 "k": st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True)})


def _check(expr, domains, with_shape: bool) -> None:
    grid = [dict(zip(("g", "k"), combo)) for combo in itertools.product(domains["g"], domains["k"])]
    with dims.gene_domains({k: tuple(v) for k, v in domains.items()}):
        with dims.collect_obligations() as obligations:
            try:
                result = sym_eval(expr)
            except OverLimit:
                return
            except (DimError, ZeroDivisionError):
                result = None
    sizes = SIZES if with_shape else [None]
    if result is None:
        if not with_shape:  # a refusal over genes alone must be justified by a concrete failure
            failures = 0
            for point in grid:
                try:
                    conc_eval(expr, point)
                except Refused:
                    failures += 1
            assert failures, f"{expr} refused, but every option has a value"
        return
    for point in grid:
        for size in sizes:
            full = dict(point, **({"$H": size} if size is not None else {}))
            binding = {"$H": Dim.const(size)} if size is not None else {}
            holds = all((ob.dim.subst(binding).at(point) / ob.divisor).denominator == 1 for ob in obligations)
            if not holds:
                continue
            try:
                expected = conc_eval(expr, full)
            except Refused:
                pytest.fail(f"{expr} = {result} symbolically, but has no value at {full}")
            assert result.at(full) == expected, f"{expr}: symbolic {result} at {full} gives {result.at(full)}"


@settings(max_examples=2500, deadline=None)
@given(expressions(with_shape=False), DOMAINS)
def test_gene_arithmetic_is_exact_at_every_option(expr, domains) -> None:
    _check(expr, domains, with_shape=False)


@settings(max_examples=1500, deadline=None)
@given(expressions(with_shape=True), DOMAINS)
def test_shape_variable_arithmetic_is_exact_where_its_obligations_hold(expr, domains) -> None:
    _check(expr, domains, with_shape=True)


def test_the_issue_examples() -> None:
    with dims.gene_domains({"w": (3, 5, 7)}):
        w = Dim.sym("w")
        widths = 8 * (w - 1).floordiv(2)
        assert [widths.at({"w": v}) for v in (3, 5, 7)] == [8, 16, 24]
        assert [w.floordiv(2).at({"w": v}) for v in (3, 5, 7)] == [1, 2, 3]
        assert w.mod(3).at({"w": 5}) == 2


def test_floor_of_a_shape_variable_records_its_divisibility() -> None:
    with dims.collect_obligations() as found:
        half = (Dim.sym("$H") + 1).floordiv(2)
    assert half == Dim.sym("$H").truediv(2)
    (ob,) = found
    assert ob.violation({"$H": Dim.const(8)}) is None
    assert ob.violation({"$H": Dim.const(7)}) == ({}, 7)


def test_an_exact_division_records_nothing() -> None:
    with dims.collect_obligations() as found:
        (2 * Dim.sym("$H")).floordiv(2)
    assert found == []


def test_refusals_name_the_reason() -> None:
    with dims.gene_domains({"w": (0, 2)}):
        with pytest.raises(DimError, match="divides by zero when `w` = 0"):
            Dim.const(8).floordiv(Dim.sym("w"))
        with pytest.raises(DimError, match="dividing a shape variable by a gene"):
            Dim.sym("$H").floordiv(Dim.sym("w"))
    with pytest.raises(DimError, match="no integer options"):
        Dim.sym("unknown").floordiv(2)


def test_equal_compares_on_the_gene_domain() -> None:
    with dims.gene_domains({"b": (0, 1)}):
        b = Dim.sym("b")
        assert dims.equal(b * b, b)  # an on/off gene: b**2 == b at every option
        assert not dims.equal(b, b + 1)


# ---- through the compiler and the builder: the issue's experiment ---------------------------------------------------

TEXT_OPS = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//", "mod": "%", "pow": "**", "div": "/"}


def _text(e) -> str:
    if e[0] == "const":
        return str(e[1])
    if e[0] == "sym":
        return "w"
    return f"({_text(e[2])} {TEXT_OPS[e[1]]} {_text(e[3])})"


def width_expressions():
    leaf = st.one_of(st.integers(0, 9).map(lambda v: ("const", v)), st.just(("sym", "w")))
    return st.recursive(leaf, lambda inner: st.tuples(st.sampled_from(OPS), inner, inner).map(lambda t: ("op", *t)),
                        max_leaves=5)


@settings(max_examples=300, deadline=None)
@given(width_expressions(), st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True))
def test_a_width_from_a_gene_builds_what_the_arithmetic_says_or_is_a_diagnostic(expr, options) -> None:
    from pbtnas.compiler import DiagnosticError, compile_text

    text = (f"network net(x: [4]) -> [2] {{\n  param w: [{', '.join(map(str, options))}]\n"
            f"  h = x >> linear({_text(expr)}) >> relu\n  return h >> linear(2)\n}}\n")
    widths = {}
    for v in options:
        try:
            value = conc_eval(expr, {"w": v})
        except Refused:
            value = None
        widths[v] = value
    valid = all(w is not None and w.denominator == 1 and 0 < w <= 2**31 - 1 for w in widths.values())
    try:
        space = compile_text(text)
    except DiagnosticError as err:
        codes = {d.code for d in err.diagnostics}
        assert not valid or codes <= {"E0105"} and "exponent" in str(err), \
            f"{_text(expr)} is a positive integer for every option {widths} but was refused: {err}"
        return
    assert valid, f"{_text(expr)} compiled, but an option has no valid width: {widths}"
    for i, v in enumerate(options):
        if widths[v] > 4096:
            continue  # exact, but not worth allocating
        model = space.build(space.validate([i]), seed=0)
        weights = {k: t.shape for k, t in model.state_dict().items()}
        first = next(shape for key, shape in weights.items() if key.endswith("weight"))
        assert first[0] == widths[v], f"{_text(expr)} with w = {v}: built {first[0]}, expected {widths[v]}"
