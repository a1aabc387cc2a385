"""Symbolic tensor dimensions: polynomials with rational coefficients over named symbols.

Symbols are shape variables of a block or option group (`H`, `W`, qualified per instance) and genes whose values
are dimensions (the RL feature size). Checking interchangeability "for every value of the variables" is then an
exact comparison of normalised polynomials, not a test at sample points.

Integer division by a constant keeps the symbolic part exact and floors only the constant part: (H + c) // s =
H/s + c // s. That equals the true floor whenever H/s is an integer, which is the divisibility every strided layer
needs; a concrete value that breaks it is reported when the shape is bound (see `is_integral`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping

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
        if not d.is_const or d.value == 0:
            raise ZeroDivisionError if d.is_const else ValueError("division by a symbolic dimension")
        return Dim._make({m: Fraction(c) / d.value for m, c in self.terms})

    def floordiv(self, divisor: "Dim | int") -> "Dim":
        d = as_dim(divisor)
        if not d.is_const or d.value == 0:
            raise ZeroDivisionError if d.is_const else ValueError("division by a symbolic dimension")
        s = d.value
        const = self._dict().get((), 0)
        rest = Dim._make({m: Fraction(c) / s for m, c in self.terms if m != ()})
        return rest + Dim.const(int(const // s))

    def mod(self, divisor: "Dim | int") -> "Dim":
        d = as_dim(divisor)
        if not (self.is_const and d.is_const):
            raise ValueError("`%` needs constant operands")
        return Dim.const(self.value % d.value)

    def pow(self, exponent: "Dim | int") -> "Dim":
        e = as_dim(exponent)
        if not e.is_const or e.value.denominator != 1 or e.value < 0:
            raise ValueError("`**` needs a constant non-negative integer exponent")
        out = Dim.const(1)
        for _ in range(int(e.value)):
            out = out * self
        return out

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
                parts.append(str(coef))
            elif coef == 1:
                parts.append(sym)
            elif coef == -1:
                parts.append(f"-{sym}")
            elif coef.denominator != 1 and coef.numerator == 1:
                parts.append(f"{sym}/{coef.denominator}")
            else:
                parts.append(f"{coef}*{sym}")
        text = " + ".join(parts).replace("+ -", "- ")
        return text

    def to_json(self) -> list:
        return [[[list(p) for p in m], [c, 1] if isinstance(c, int) else [c.numerator, c.denominator]]
                for m, c in self.terms]

    @staticmethod
    def from_json(data: list) -> "Dim":
        return Dim._make({tuple((s, int(p)) for s, p in m): Fraction(n, d) for m, (n, d) in data})


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
