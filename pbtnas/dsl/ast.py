"""The typed syntax tree of a `.nas` file. Every node keeps the span of the text it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from pbtnas.dsl.diagnostics import Span


@dataclass
class Node:
    span: Span = field(compare=False, repr=False, kw_only=True)


@dataclass
class Named(Node):
    """A node that introduces a name: `name_span` is where the name itself is written (for editors: hover, go to
    definition), inside `span`, which covers the whole declaration or statement."""

    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


# ---- values and expressions -------------------------------------------------------------------------------------

@dataclass
class Name(Node):
    id: str


@dataclass
class Int(Node):
    value: int


@dataclass
class Float(Node):
    value: float


@dataclass
class Str(Node):
    value: str


@dataclass
class Arg(Node):
    name: str | None
    value: "Expr"


@dataclass
class Call(Node):
    fn: str
    fn_span: Span = field(compare=False, repr=False)
    args: list[Arg]


@dataclass
class Attr(Node):
    obj: "Expr"
    name: str


@dataclass
class Index(Node):
    """`c[i - 1]`: the node of a repetition with that index, or `pick[0]`: a chosen input."""
    base: str
    index: "Expr"


@dataclass
class BinOp(Node):
    op: str  # add sub mul div floordiv mod pow pipe otherwise
    left: "Expr"
    right: "Expr"


@dataclass
class Neg(Node):
    operand: "Expr"


@dataclass
class When(Node):
    """`expr if cond`: the value when `cond` holds, absent otherwise."""

    expr: "Expr"
    cond: "Cond"


@dataclass
class IfElse(Node):
    expr: "Expr"
    cond: "Cond"
    other: "Expr"


@dataclass
class TupleExpr(Node):
    items: list["Expr"]


@dataclass
class ListExpr(Node):
    items: list["Expr"]


Expr = Name | Int | Float | Str | Call | Attr | BinOp | Neg | When | IfElse | TupleExpr | ListExpr
Value = Name | Int | Float


# ---- conditions ---------------------------------------------------------------------------------------------------

@dataclass
class CondName(Node):
    name: str


@dataclass
class CondIn(Node):
    name: str
    values: list[Value]
    index: "Expr | None" = None  # `inputs[0] in [s0, s1]`: which input a pick chose


@dataclass
class CondEq(Node):
    name: str
    value: Value
    negate: bool


@dataclass
class CondNot(Node):
    operand: "Cond"


@dataclass
class CondBool(Node):
    op: str  # and | or
    left: "Cond"
    right: "Cond"


Cond = CondName | CondIn | CondEq | CondNot | CondBool


# ---- types --------------------------------------------------------------------------------------------------------

@dataclass
class ShapeType(Node):
    dims: list[Expr]


@dataclass
class UnionType(Node):
    alternatives: list[ShapeType]


@dataclass
class TupleType(Node):
    items: list[UnionType]


@dataclass
class Param(Named):
    """A block/option-group parameter: a tensor input (`x: [C, H, W]`, `?` when optional) or a value."""

    name: str
    kind: str  # tensor | options | value
    shape: ShapeType | None = None
    optional: bool = False


# ---- statements ---------------------------------------------------------------------------------------------------

@dataclass
class OptionDef(Named):
    name: str
    expr: Expr


@dataclass
class SlotRef(Named):
    name: str
    group: str
    group_span: Span = field(compare=False, repr=False)
    args: list[Arg]
    tied: str | None = None


@dataclass
class SlotInline(Named):
    name: str
    in_type: ShapeType
    out_type: ShapeType
    options: list[OptionDef]


@dataclass
class ParamInline(Named):
    name: str
    values: list[Value]


@dataclass
class ParamRef(Named):
    name: str
    values_name: str
    values_span: Span = field(compare=False, repr=False)


@dataclass
class Assign(Named):
    name: str
    expr: Expr
    index: "Expr | None" = None  # `c[i] = ...` in a repetition
    tied: str | None = None      # `... = Cell(...) tied cell`


@dataclass
class For(Named):
    """`for i in range(start, stop) { ... }`: the body unrolled once per index."""
    var: str
    start: Expr
    stop: Expr
    body: list["Stmt"]


@dataclass
class Pick(Named):
    """`pick NAME: k of [a, b, c]`: a gene over the k-combinations of the candidates."""
    name: str
    k: int
    candidates: list[Expr]


@dataclass
class Return(Node):
    expr: Expr


Stmt = SlotRef | SlotInline | ParamInline | ParamRef | Assign | Return | For | Pick


# ---- declarations -------------------------------------------------------------------------------------------------

@dataclass
class SpaceDecl(Named):
    name: str


@dataclass
class ConstDecl(Named):
    name: str
    expr: Expr


@dataclass
class InitDecl(Named):
    kind: str
    scheme: str
    args: list[Arg]


@dataclass
class ValuesDecl(Named):
    name: str
    values: list[Value]


@dataclass
class OptionsDecl(Named):
    name: str
    shape_vars: list[Name]
    params: list[Param]
    in_type: ShapeType
    out_type: ShapeType
    options: list[OptionDef]


@dataclass
class BlockDecl(Named):
    name: str
    shape_vars: list[Name]
    params: list[Param]
    out_type: ShapeType | UnionType | TupleType
    body: list[Stmt]
    is_network: bool = False


Decl = SpaceDecl | ConstDecl | InitDecl | ValuesDecl | OptionsDecl | BlockDecl


@dataclass
class Module(Node):
    decls: list[Decl]
