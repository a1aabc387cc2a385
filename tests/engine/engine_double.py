"""A test double of ``pbtnas.compiler.CompiledSpace`` (docs/contracts.md, "Compiled space").

A tiny MLP classifier for 8x8 digits: a fixed stem and head (owned by no gene), ``n_layers`` searchable layers,
each with an op gene (weights under ``classifier.layer{k}.op.``) and a weightless activation gene. The ops cover
what the engine must handle: no weights ("skip"), plain weights ("linear"), BatchNorm statistics and an integer
buffer ("linear_bn") and spectral-norm vectors ("linear_sn").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pbtnas.engine.runner import register_space_loader

LAYER_OPS = ("skip", "linear", "linear_bn", "linear_sn")
ACTIVATIONS = ("relu", "tanh")


class DoubleGenomeError(ValueError):
    pass


@dataclass(frozen=True)
class DoubleGene:
    index: int
    name: str
    options: tuple[str, ...]
    owns_weights: bool
    prefixes: tuple[str, ...]
    linked: tuple[int, ...] = ()


@dataclass(frozen=True)
class DoubleGenome:
    values: tuple[int, ...]


class SNLinear(nn.Module):
    """Linear with spectral normalisation kept in buffers ``sn_u``/``sn_v`` (names as in the contract)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.lin = nn.Linear(width, width)
        u = torch.randn(width)
        v = torch.randn(width)
        self.register_buffer("sn_u", u / u.norm())
        self.register_buffer("sn_v", v / v.norm())

    def forward(self, x: Tensor) -> Tensor:
        w = self.lin.weight
        if self.training:
            with torch.no_grad():
                v = w.t() @ self.sn_u
                v = v / (v.norm() + 1e-12)
                u = w @ v
                u = u / (u.norm() + 1e-12)
                self.sn_u.copy_(u)
                self.sn_v.copy_(v)
        sigma = self.sn_u @ w @ self.sn_v
        return nn.functional.linear(x, w / sigma, self.lin.bias)


def _make_op(option: str, width: int) -> nn.Module:
    if option == "skip":
        return nn.Identity()
    if option == "linear":
        return _Lin(width)
    if option == "linear_bn":
        return _LinBN(width)
    if option == "linear_sn":
        return SNLinear(width)
    raise AssertionError(option)


class _Lin(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.lin = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x)


class _LinBN(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.lin = nn.Linear(width, width)
        self.bn = nn.BatchNorm1d(width)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.lin(x))


class _Layer(nn.Module):
    def __init__(self, op: str, act: str, width: int) -> None:
        super().__init__()
        self.op = _make_op(op, width)
        self.act = nn.ReLU() if act == "relu" else nn.Tanh()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.op(x))


class _Classifier(nn.Module):
    def __init__(self, values: tuple[int, ...], n_layers: int, width: int) -> None:
        super().__init__()
        self.stem = nn.Linear(64, width)
        for k in range(n_layers):
            op = LAYER_OPS[values[2 * k]]
            act = ACTIVATIONS[values[2 * k + 1]]
            self.add_module(f"layer{k}", _Layer(op, act, width))
        self.head = nn.Linear(width, 10)
        self.n_layers = n_layers

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.stem(x.flatten(1)))
        for k in range(self.n_layers):
            h = getattr(self, f"layer{k}")(h)
        return self.head(h)


class DoubleModel(nn.Module):
    def __init__(self, classifier: _Classifier) -> None:
        super().__init__()
        self.classifier = classifier


class DoubleSpace:
    """Implements the CompiledSpace contract for a tiny digits MLP."""

    networks = ("classifier",)

    def __init__(self, n_layers: int = 3, width: int = 16) -> None:
        self.n_layers = n_layers
        self.width = width
        self.name = "double"
        self.constants: dict[str, int | float | str] = {"width": width, "layers": n_layers}
        genes: list[DoubleGene] = []
        for k in range(n_layers):
            genes.append(
                DoubleGene(2 * k, f"classifier.layer{k}.op", LAYER_OPS, True, (f"classifier.layer{k}.op.",))
            )
            genes.append(DoubleGene(2 * k + 1, f"classifier.layer{k}.act", ACTIVATIONS, False, ()))
        self.genes = tuple(genes)
        self.size = (len(LAYER_OPS) * len(ACTIVATIONS)) ** n_layers
        digest = json.dumps({"layers": n_layers, "width": width, "ops": LAYER_OPS, "acts": ACTIVATIONS})
        self.schema_hash = hashlib.sha256(digest.encode()).hexdigest()[:16]

    # genomes ---------------------------------------------------------------------------------------------
    def random_genome(self, rng: np.random.Generator) -> DoubleGenome:
        return DoubleGenome(tuple(int(rng.integers(len(g.options))) for g in self.genes))

    def validate(self, values: Any) -> DoubleGenome:
        values = tuple(int(v) for v in values)
        if len(values) != len(self.genes):
            raise DoubleGenomeError(f"expected {len(self.genes)} values, got {len(values)}")
        for gene, v in zip(self.genes, values, strict=True):
            if not 0 <= v < len(gene.options):
                raise DoubleGenomeError(f"{gene.name}: {v} out of range")
        return DoubleGenome(values)

    def to_json_genome(self, genome: DoubleGenome) -> dict[str, Any]:
        return {
            "space": self.name,
            "schema_hash": self.schema_hash,
            "values": list(genome.values),
            "choices": {g.name: g.options[v] for g, v in zip(self.genes, genome.values, strict=True)},
        }

    def genome_from_json(self, d: dict[str, Any]) -> DoubleGenome:
        if d.get("schema_hash") != self.schema_hash:
            raise DoubleGenomeError("genome of another space version")
        return self.validate(d["values"])

    # weights ---------------------------------------------------------------------------------------------
    def build(self, genome: DoubleGenome, seed: int = 0) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return DoubleModel(_Classifier(genome.values, self.n_layers, self.width))

    def owned_keys(self, i: int, keys: Any) -> list[str]:
        prefixes = self.genes[i].prefixes
        return [k for k in keys if prefixes and k.startswith(prefixes)]

    # artifact --------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"kind": "double", "n_layers": self.n_layers, "width": self.width})

    @classmethod
    def from_json(cls, text: str) -> DoubleSpace:
        d = json.loads(text)
        return cls(n_layers=d["n_layers"], width=d["width"])


# Run directories of this double name it as their space loader; pbtnas imports only registered space classes.
register_space_loader(DoubleSpace)
