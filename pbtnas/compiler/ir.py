"""The data the compiler passes hand each other: genes, op records, network IR, layer values, scopes.

Nothing here does any checking. The passes (`declarations`, `static`, `conditions`, `tensors`, `genes`,
`instances`, `layout`) read and build these objects; `space.py` serialises a `Program` to the JSON artifact and
`builder.py` specialises its IR for one genome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pbtnas.compiler.guards import TVal
from pbtnas.dsl.diagnostics import Span
from pbtnas.layers import dims
from pbtnas.layers.dims import Dim
from pbtnas.layers.ops import OpSpec

# The shape of a tensor whose expression already failed (reported once): later checks skip it quietly.
ERR_SHAPE: tuple[Dim, ...] = (Dim.sym("?error"),)

# The largest tensor dimension a space may declare or compute: torch indexes sizes with 64-bit ints, but a single
# dimension past 2**31 is never a real layer and only ends in an allocation failure.
MAX_DIM = 2**31 - 1
# `**` in shapes is for strides and channel growth (2 ** i); a bigger exponent is a typo, and Dim.pow's cost grows
# with it.
MAX_EXPONENT = 64

BAD = object()  # an op argument that failed its check (reported)
POISON = object()  # a name whose declaration failed (already reported): its uses report nothing more
MIXED = object()  # a condition that reads a gene or a tensor: decided per genome, not at compile time


# ---- what the compiler produces -------------------------------------------------------------------------------------

@dataclass(eq=False)
class GeneDef:
    name: str
    kind: str  # slot | param | pick
    options: list[str]
    values: list[Any]
    span: Span
    index: int = -1
    none_options: frozenset[int] = frozenset()
    option_layers: list[Any] = field(default_factory=list)
    in_pattern: tuple[Dim, ...] = ()
    out_pattern: tuple[Dim, ...] = ()
    # (path, option index, symbolic input shape, op, shape args) of every op inside an option
    option_ops: list[tuple[str, int, tuple[Dim, ...], OpSpec, dict]] = field(default_factory=list)
    weighted_options: set[int] = field(default_factory=set)
    # divisibility the options' arithmetic assumes of the slot's shape variables (`H // 2`): checked per binding
    obligations: list[dims.Obligation] = field(default_factory=list)
    used: bool = False
    # tied genes (tying.py): a slot of one instance reads its leader, the genome's entry, which lists them all
    tied_to: "GeneDef | None" = None
    followers: list["GeneDef"] = field(default_factory=list)
    # the slot whose checked options this one copied (genes.copy_slot): its option_ops hold the same shapes, ops and
    # arguments, so what they compute for an input is computed once for all copies (tensors._apply_slot)
    ops_source: "GeneDef | None" = None

    @property
    def numeric(self) -> bool:
        return self.kind == "param" and all(isinstance(v, int) and not isinstance(v, bool) for v in self.values)

    @property
    def symbol(self) -> str:
        return self.name


@dataclass
class OpRecord:
    """Every module path the program can create, with the shapes it was checked with."""

    path: str
    spec: OpSpec
    in_shapes: list[tuple[Dim, ...]] = field(default_factory=list)
    param_dims: list[tuple[Dim, ...]] = field(default_factory=list)
    slot: GeneDef | None = None
    span: Span | None = None
    option: int | None = None


@dataclass
class NetworkIR:
    name: str
    inputs: list[str]
    input_shapes: list[tuple[Dim, ...]]
    stmts: list[tuple[str, Any]]
    result: Any
    n_outputs: int
    output_shapes: list[list[tuple[Dim, ...]]]


@dataclass
class Program:
    space: str
    constants: dict[str, Any]
    genes: list[GeneDef]
    networks: list[NetworkIR]
    ops: dict[str, OpRecord]
    init: dict[str, tuple[str, dict]]
    tied_slots: list[GeneDef] = field(default_factory=list)  # followers of tied genes: their own layers
    # (statement span, instance prefix, value) of every node in every instance (instances.py): for editors
    nodes: list[tuple[Span, str, TVal]] = field(default_factory=list)


# ---- layer values (unapplied pipelines): what static evaluation returns for `conv(8) >> relu` ---------------------

@dataclass
class OpL:
    spec: OpSpec
    args: dict[str, Any]
    span: Span


@dataclass
class SlotL:
    gene: GeneDef
    span: Span


@dataclass
class SeqL:
    items: list[Any]


@dataclass
class ResidualL:
    body: Any
    span: Span


@dataclass
class NoneL:
    span: Span


@dataclass
class IdentityL:
    span: Span


@dataclass
class TensorRef:
    var: str
    value: TVal


@dataclass
class InstanceRef:
    name: str
    var_prefix: str
    nodes: dict[str, TensorRef]


@dataclass
class Scope:
    prefix: str  # module path prefix, e.g. "generator.cell1"
    var_prefix: str  # IR variable prefix, e.g. "cell1/"
    names: dict[str, Any]
    binding: dict[str, Dim] = field(default_factory=dict)  # shape variables -> dims of this elaboration
    in_options: bool = False
    ties: tuple[tuple[str, str], ...] = ()  # tying.py: (instance prefix, tie prefix) of the enclosing tied instances

    def lookup(self, name: str, consts: dict[str, Any]) -> Any:
        """A local name (parameter, gene, tensor, shape variable), else a constant (ints as Dims), else None."""
        if name in self.names:
            return self.names[name]
        if name in consts:
            v = consts[name]
            return Dim.const(v) if isinstance(v, int) and not isinstance(v, bool) else v
        return None


class PathCounter:
    """Numbers the ops of one expression: `generator.x.0`, `generator.x.1`, ... (the weight namespace)."""

    def __init__(self, base: str):
        self.base, self.n = base, 0

    def next(self) -> str:
        path = f"{self.base}.{self.n}"
        self.n += 1
        return path


def is_layer(v: Any) -> bool:
    return isinstance(v, (OpL, SeqL, SlotL, ResidualL, NoneL, IdentityL))


def flatten_seq(v: Any) -> list[Any]:
    return list(v.items) if isinstance(v, SeqL) else [v]


def shape_eq(a: tuple[Dim, ...], b: tuple[Dim, ...]) -> bool:
    return len(a) == len(b) and all(dims.equal(x, y) for x, y in zip(a, b))
