"""Symbolic tensor dimensions: polynomials with rational coefficients over named symbols.

Two kinds of symbols:
- *shape variables* (`$H`, `$cell1.W`: a `$` prefix) stand for any size. Checking interchangeability "for every
  value of the variables" is then an exact comparison of normalised polynomials, not a test at sample points.
- *genes* (a gene's dotted name, `net.w`) are integer genes with a finite list of options, their *domain*, made known
  by `gene_domains(...)` while a space compiles.

Every operation is exact or refused (`DimError`):
- `+ - *` are exact polynomial arithmetic;
- over genes, `/ // % **` are exact too: a function of genes with finite domains *is* a polynomial of degree below
  the number of options in each gene (Lagrange interpolation), so `w // 2`, `(k - 1) // 2`, `w % 3`, `2 ** w` and
  `C / e` are tabulated over the domain and interpolated. The result equals integer arithmetic at every option;
- over shape variables, `(Q + R) // s` (Q the terms that contain a shape variable, R the rest, s a constant) is
  `Q / s + R // s`. That is the true floor exactly when `Q / s` is an integer, the divisibility every strided layer
  and `H // 2` interface needs. The operation records it as an *obligation* (`collect_obligations`), and the
  compiler checks it when the shape variable is bound to a size, so a size that breaks it is a diagnostic, not a
  wrong shape. `Q % s` is `R % s` under the same obligation;
- anything else (division by a shape variable, a shape variable to a gene's power, a gene without a known domain)
  raises `DimError` with a message for the diagnostic at the expression.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, Mapping

# A function of genes is tabulated over every combination of their options: beyond this many the compiler refuses
# (a diagnostic) instead of spending minutes; real spaces combine one or two genes in an expression.
MAX_POINTS = 4096
MAX_EXPONENT_VALUE = 64  # as the compiler's limit on constant exponents
_SIZE_MARKS = ("$", "?")


class DimError(ValueError):
    """An operation on dimensions that cannot be computed exactly; the message names the reason."""


Monomial = tuple[tuple[str, int], ...]  # sorted (symbol, power) pairs; () is the constant term


def _mono_mul(a: Monomial, b: Monomial) -> Monomial:
    powers: dict[str, int] = dict(a)
    for sym, p in b:
        powers[sym] = powers.get(sym, 0) + p
    return tuple(sorted(powers.items()))


@dataclass(frozen=True)
class Dim:
    terms: tuple[tuple[Monomial, int | Fraction], ...]  # sorted, no zero coefficients

    # -- construction ---------------------------------------------------------------------------------------------
    # Coefficients are ints where possible (Fraction only for true fractions): int arithmetic is much faster.
    @staticmethod
    def _make(terms: Mapping[Monomial, Fraction | int]) -> "Dim":
        return Dim(tuple(sorted((m, _norm(c)) for m, c in terms.items() if c != 0)))

    @staticmethod
    def const(value: int | Fraction) -> "Dim":
        return Dim((((), _norm(value)),)) if value != 0 else Dim(())

    @staticmethod
    def sym(name: str) -> "Dim":
        return Dim(((((name, 1),), 1),))

    # -- queries --------------------------------------------------------------------------------------------------
    @property
    def is_const(self) -> bool:
        return all(m == () for m, _ in self.terms)

    @property
    def value(self) -> Fraction:
        if not self.is_const:
            raise ValueError(f"{self} is not a constant")
        return Fraction(self.terms[0][1]) if self.terms else Fraction(0)

    def int_value(self) -> int:
        v = self.value
        if v.denominator != 1:
            raise ValueError(f"{self} is not an integer")
        return int(v)

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(s for m, _ in self.terms for s, _ in m)

    def is_integral(self) -> bool:
        return not self.is_const or isinstance(self.value, int) or self.value.denominator == 1

    def as_single_symbol(self) -> str | None:
        """The symbol name when this dim is exactly one symbol with coefficient 1 (a pattern variable)."""
        if len(self.terms) == 1:
            mono, coef = self.terms[0]
            if coef == 1 and len(mono) == 1 and mono[0][1] == 1:
                return mono[0][0]
        return None

    # -- arithmetic -----------------------------------------------------------------------------------------------
    def _dict(self) -> dict[Monomial, Fraction]:
        return dict(self.terms)

    def __add__(self, other: "Dim | int") -> "Dim":
        other = as_dim(other)
        acc = self._dict()
        for m, c in other.terms:
            acc[m] = acc.get(m, 0) + c
        return Dim._make(acc)

    __radd__ = __add__

    def __neg__(self) -> "Dim":
        return Dim._make({m: -c for m, c in self.terms})

    def __sub__(self, other: "Dim | int") -> "Dim":
        return self + (-as_dim(other))

    def __rsub__(self, other: "Dim | int") -> "Dim":
        return as_dim(other) - self

    def __mul__(self, other: "Dim | int") -> "Dim":
        other = as_dim(other)
        acc: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                m = _mono_mul(m1, m2)
                acc[m] = acc.get(m, 0) + c1 * c2
        return Dim._make(acc)

    __rmul__ = __mul__

    def truediv(self, divisor: "Dim | int") -> "Dim":
        d = as_dim(divisor)
        if d.is_const:
            if d.value == 0:
                raise ZeroDivisionError
            return Dim._make({m: Fraction(c) / d.value for m, c in self.terms})
        if self.has_shape_vars or d.has_shape_vars:
            raise DimError("dividing a shape variable, or by one, has no single size for every value")
        return tabulate(lambda a, b: _divide(a, b, "/"), self, d)

    def floordiv(self, divisor: "Dim | int") -> "Dim":
        d = as_dim(divisor)
        if d.is_const:
            s = d.value
            if s == 0:
                raise ZeroDivisionError
            q, r = self.split_shape_part()
            floor_r = tabulate(lambda a: Fraction(math.floor(a / s)), r)
            if not q.terms:
                return floor_r
            _oblige(q, s, "//")
            return q.truediv(s) + floor_r
        if self.has_shape_vars or d.has_shape_vars:
            raise DimError("dividing a shape variable by a gene, or by a shape variable, has no single size for "
                           "every value")
        return tabulate(lambda a, b: Fraction(math.floor(_divide(a, b, "//"))), self, d)

    def mod(self, divisor: "Dim | int") -> "Dim":
        d = as_dim(divisor)
        if d.has_shape_vars:
            raise DimError("a remainder by a shape variable has no single size for every value")
        if d.is_const:
            s = d.value
            if s == 0:
                raise ZeroDivisionError
            q, r = self.split_shape_part()
            if q.terms:
                _oblige(q, s, "%")
            return tabulate(lambda a: a - s * math.floor(a / s), r)
        if self.has_shape_vars:
            raise DimError("a remainder of a shape variable by a gene has no single size for every value")
        return tabulate(lambda a, b: a - b * math.floor(_divide(a, b, "%")), self, d)

    def pow(self, exponent: "Dim | int") -> "Dim":
        e = as_dim(exponent)
        if e.is_const and e.value.denominator == 1 and e.value >= 0:
            out = Dim.const(1)
            for _ in range(int(e.value)):
                out = out * self
            return canonical(out)
        if self.has_shape_vars or e.has_shape_vars:
            raise DimError("a shape variable needs a constant non-negative integer exponent")
        return tabulate(_power, self, e)

    # -- genes and shape variables ----------------------------------------------------------------------------------
    # `?` symbols are placeholders for sizes the compiler could not infer after an error: like shape variables,
    # unknown, never a gene.
    @property
    def has_shape_vars(self) -> bool:
        return any(s.startswith(_SIZE_MARKS) for s in self.symbols)

    @property
    def gene_symbols(self) -> frozenset[str]:
        return frozenset(s for s in self.symbols if not s.startswith(_SIZE_MARKS))

    def split_shape_part(self) -> tuple["Dim", "Dim"]:
        """(the terms with a shape variable, the rest: constants and genes only)."""
        q = {m: c for m, c in self.terms if any(sym.startswith(_SIZE_MARKS) for sym, _ in m)}
        return Dim._make(q), Dim._make({m: c for m, c in self.terms if m not in q})

    def at(self, point: Mapping[str, int | Fraction]) -> Fraction:
        """The value with every symbol given a number (no symbol may be left)."""
        total = Fraction(0)
        for mono, coef in self.terms:
            term = Fraction(coef)
            for sym, p in mono:
                term *= Fraction(point[sym]) ** p
            total += term
        return total

    def subst(self, values: Mapping[str, "Dim"]) -> "Dim":
        if not values or not (self.symbols & values.keys()):
            return self
        out = Dim.const(0)
        for mono, coef in self.terms:
            term = Dim.const(coef)
            for sym, p in mono:
                base = values.get(sym) or Dim.sym(sym)
                term = term * (base if p == 1 else base.pow(p))
            out = out + term
        return out

    # -- presentation ---------------------------------------------------------------------------------------------
    def __str__(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for mono, coef in sorted(self.terms, key=lambda t: (-len(t[0]), t[0])):
            sym = "*".join(f"{_short(s)}**{p}" if p > 1 else _short(s) for s, p in mono)
            if not sym:
                parts.append(number_text(coef))
            elif coef == 1:
                parts.append(sym)
            elif coef == -1:
                parts.append(f"-{sym}")
            elif coef.denominator != 1 and coef.numerator == 1:
                parts.append(f"{sym}/{coef.denominator}")
            else:
                parts.append(f"{number_text(coef)}*{sym}")
        text = " + ".join(parts).replace("+ -", "- ")
        return text

    def to_json(self) -> list:
        return [[[list(p) for p in m], [c, 1] if isinstance(c, int) else [c.numerator, c.denominator]]
                for m, c in self.terms]

    @staticmethod
    def from_json(data: list) -> "Dim":
        return Dim._make({tuple((s, int(p)) for s, p in m): Fraction(n, d) for m, (n, d) in data})


# ---- the compile-time context: gene domains and divisibility obligations ----------------------------------------

@dataclass(frozen=True)
class Obligation:
    """`dim / divisor` must be an integer: the shape-variable part of a floor division or a modulo (`op`)."""

    dim: "Dim"
    divisor: Fraction
    op: str

    def violation(self, binding: Mapping[str, "Dim"]) -> tuple[dict[str, int], Fraction] | None:
        """With the shape variables bound, the first gene point where the division is not exact, with the value
        of `dim` there; None when it is exact everywhere or when some shape variable is still unbound."""
        bound = self.dim.subst(binding)
        if bound.has_shape_vars:
            return None
        for point, value in points(bound):
            if (value / self.divisor).denominator != 1:
                return point, value
        return None


_DOMAINS: contextvars.ContextVar[Mapping[str, tuple[int, ...]]] = contextvars.ContextVar("gene_domains", default={})
_OBLIGATIONS: contextvars.ContextVar[list | None] = contextvars.ContextVar("obligations", default=None)


@contextlib.contextmanager
def gene_domains(domains: Mapping[str, tuple[int, ...]]) -> Iterator[None]:
    """Make the options of integer genes known to the arithmetic (a mapping the caller may keep filling)."""
    token = _DOMAINS.set(domains)
    try:
        yield
    finally:
        _DOMAINS.reset(token)


@contextlib.contextmanager
def collect_obligations() -> Iterator[list[Obligation]]:
    """Record the divisibility obligations of the operations inside the block (nested blocks record their own)."""
    found: list[Obligation] = []
    token = _OBLIGATIONS.set(found)
    try:
        yield found
    finally:
        _OBLIGATIONS.reset(token)


def record_obligations(obligations: list[Obligation]) -> None:
    """Re-record obligations of a memoised computation into the collector now active."""
    sink = _OBLIGATIONS.get()
    if sink is not None:
        sink.extend(obligations)


def _oblige(q: "Dim", divisor: Fraction | int, op: str) -> None:
    if all((Fraction(c) / divisor).denominator == 1 for _, c in q.terms):
        return  # `(2 * H) // 2`: exact for every size
    sink = _OBLIGATIONS.get()
    if sink is not None:
        sink.append(Obligation(q, Fraction(divisor), op))


def points(d: "Dim") -> Iterator[tuple[dict[str, int], Fraction]]:
    """Every combination of options of the genes in `d` (no shape variables), with `d`'s value there."""
    genes = sorted(d.gene_symbols)
    grids = _grids(genes)
    for combo in itertools.product(*grids):
        point = dict(zip(genes, combo))
        yield point, d.at(point)


def _grids(genes: list[str]) -> list[tuple[int, ...]]:
    domains = _DOMAINS.get()
    grids = []
    for g in genes:
        if g not in domains:
            raise DimError(f"`{_short(g)}` has no integer options known here")
        grids.append(tuple(sorted(set(domains[g]))))
    if math.prod(len(g) for g in grids) > MAX_POINTS:
        raise DimError(f"this combines genes with more than {MAX_POINTS} combinations of options")
    return grids


def tabulate(fn: Callable[..., Fraction], *dims: "Dim") -> "Dim":
    """The exact polynomial over the genes of `dims` (no shape variables) that equals `fn` of their values at every
    combination of options."""
    genes = sorted(set().union(*(d.gene_symbols for d in dims)))
    if not genes:
        return Dim.const(fn(*(d.value for d in dims)))
    grids = _grids(genes)
    table = {}
    for combo in itertools.product(*grids):
        point = dict(zip(genes, combo))
        try:
            table[combo] = Fraction(fn(*(d.at(point) for d in dims)))
        except DimError as err:
            raise DimError(f"{err} when {describe_point(point)}") from None
    return _interpolate(genes, grids, table)


def _interpolate(genes: list[str], grids: list[tuple[int, ...]], table: dict[tuple, Fraction]) -> "Dim":
    if not genes:
        return Dim.const(table[()])
    out = Dim.const(0)
    for v in grids[0]:
        rest = {combo[1:]: val for combo, val in table.items() if combo[0] == v}
        inner = _interpolate(genes[1:], grids[1:], rest)
        if inner.terms:
            out = out + _lagrange(genes[0], v, grids[0]) * inner
    return out


def _lagrange(gene: str, v: int, grid: tuple[int, ...]) -> "Dim":
    """The polynomial in `gene` that is 1 at option value v and 0 at every other value of the grid."""
    basis = Dim.const(1)
    for u in grid:
        if u != v:
            basis = basis * (Dim.sym(gene) - u) * Fraction(1, v - u)
    return basis


def canonical(d: "Dim") -> "Dim":
    """The unique form of `d` on the gene domains: degree below the number of options in each gene (two dims that
    agree at every option are then equal as polynomials). Coefficients of shape-variable monomials are reduced
    separately."""
    domains = _DOMAINS.get()
    if not any(p >= len(set(domains.get(s, ()))) > 0 for m, _ in d.terms for s, p in m
               if not s.startswith(_SIZE_MARKS)):
        return d
    by_shape: dict[Monomial, dict[Monomial, int | Fraction]] = {}
    for mono, coef in d.terms:
        shape_part = tuple(x for x in mono if x[0].startswith(_SIZE_MARKS))
        gene_part = tuple(x for x in mono if not x[0].startswith(_SIZE_MARKS))
        by_shape.setdefault(shape_part, {})[gene_part] = coef
    out = Dim.const(0)
    for shape_part, coefs in by_shape.items():
        reduced = tabulate(lambda a: a, Dim._make(coefs))
        out = out + reduced * Dim(((shape_part, 1),))
    return out


def equal(a: "Dim", b: "Dim") -> bool:
    """`a` and `b` are the same size for every value of the shape variables and every option of the genes."""
    return a == b or not canonical(a - b).terms


def number_text(v: int | Fraction) -> str:
    """A number for a message; one too long to print (Python refuses past 4300 digits) is described instead."""
    v = Fraction(v)
    bits = max(abs(v.numerator).bit_length(), v.denominator.bit_length())
    if bits > 200:
        return f"(a number of about {int(bits * 0.30103)} digits)"
    return str(v.numerator) if v.denominator == 1 else str(v)


def describe_point(point: Mapping[str, int]) -> str:
    return " and ".join(f"`{name}` = {value}" for name, value in point.items())


def _divide(a: Fraction, b: Fraction, op: str) -> Fraction:
    if b == 0:
        raise DimError(f"`{op}` divides by zero")
    return a / b


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise DimError(f"`**` with the exponent {exponent} is not a rational number")
    if abs(exponent) > MAX_EXPONENT_VALUE:
        raise DimError(f"`**` with the exponent {exponent} (at most {MAX_EXPONENT_VALUE})")
    if base == 0 and exponent < 0:
        raise DimError("`**` raises 0 to a negative power")
    return base ** int(exponent)


def _norm(c: int | Fraction) -> int | Fraction:
    if isinstance(c, Fraction) and c.denominator == 1:
        return int(c.numerator)
    return c


def _short(sym: str) -> str:
    """Show `cell1.H` as `H` in messages; the qualified name only disambiguates internally."""
    return sym.rsplit(".", 1)[-1].lstrip("$")


def as_dim(x: "Dim | int | Fraction") -> Dim:
    return x if isinstance(x, Dim) else Dim.const(x)


def shape_str(dims: tuple[Dim, ...] | list[Dim]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"
