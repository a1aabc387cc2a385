"""Genome -> nn.Module: specialise the checked program for one genome and create its modules.

Every module a genome selects is created, in one fixed order, whether or not the data flow reaches it (a branch
switched off by a flag keeps its weights, as in the reference code). A genome's picks select too: the branch of a
condition on picks that they do not take has no modules (routing.py). The state-dict keys therefore depend only on
the option each slot takes, so a gene's weights are exactly the keys under its prefix. The forward pass is a
straight-line program: conditions and absent tensors are resolved here, once, not at every call.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pbtnas.compiler.selected import selected_modules
from pbtnas.layers.ops import get_op
from pbtnas.layers.products import multiply


class Scope(nn.Module):
    """A plain container that gives nested module paths (`cell1.c0.1`) their own level in the state dict."""

    def forward(self, *args):  # pragma: no cover - containers are never called
        raise RuntimeError("a scope container is not a layer")


class NetworkModule(nn.Module):
    """One network of a space. Calls run the specialised program: module applications, sums and concatenations."""

    def __init__(self, name: str, n_inputs: int, n_outputs: int):
        super().__init__()
        self._net_name = name
        self._n_inputs = n_inputs
        self._n_outputs = n_outputs
        self._steps: list[tuple] = []
        self._n_slots = n_inputs
        self._result: list[int] = []

    def forward(self, *inputs: torch.Tensor):
        if len(inputs) != self._n_inputs:
            raise TypeError(f"network `{self._net_name}` takes {self._n_inputs} input(s), got {len(inputs)}")
        vals: list[Any] = list(inputs) + [None] * (self._n_slots - self._n_inputs)
        for kind, out, payload, ins in self._steps:
            if kind == "mod":
                vals[out] = payload(vals[ins[0]])
            elif kind == "mul":  # `a * b` with leading alignment (a [C] gate over [C, H, W])
                vals[out] = multiply(vals[ins[0]], vals[ins[1]])
            elif kind == "add":
                acc = vals[ins[0]]
                for i in ins[1:]:
                    acc = acc + vals[i]
                vals[out] = acc
            else:  # cat along the feature axis (the first after the batch)
                vals[out] = torch.cat([vals[i] for i in ins], dim=1)
        if self._n_outputs == 1:
            return vals[self._result[0]]
        return tuple(vals[i] for i in self._result)


class SpaceModel(nn.Module):
    """The networks of one genome as attributes: `model.generator`, `model.discriminator`, …"""

    def __init__(self, space_name: str, genome: tuple[int, ...]):
        super().__init__()
        self.space_name = space_name
        self.genome = genome


class Builder:
    def __init__(self, artifact: dict):
        self.a = artifact
        self.init = artifact.get("init", {})

    def build(self, genome: tuple[int, ...], seed: int | None = None, initialise: bool = True) -> SpaceModel:
        """`initialise=False` keeps torch's default initialisation: for counting on the meta device, where the
        space's schemes would only cost time (an orthogonal init's QR of a large weight)."""
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            model = SpaceModel(self.a["space"], tuple(genome))
            made: dict[str, nn.Module] = {}
            for net in self.a["networks"]:
                model.add_module(net["name"], NetworkModule(net["name"], len(net["inputs"]), net["n_outputs"]))
            for selected in selected_modules(self.a, genome):  # fixed order: the same genome and seed, same weights
                spec = get_op(selected.op)
                module = spec.build(selected.in_shape, selected.args)
                if initialise:
                    self._initialise(module, spec.init_kind)
                for part in module.modules():  # state derived from the initial weights (spectral-norm warm-up)
                    hook = getattr(part, "after_init", None)
                    if callable(hook):
                        hook()
                _attach(model, selected.path, module)
                made[selected.path] = module
            for net in self.a["networks"]:
                _Specialiser(self, genome, made, getattr(model, net["name"])).run(net)
        return model

    def _initialise(self, module: nn.Module, kind: str | None) -> None:
        if kind is None or kind not in self.init:
            return
        scheme, args = self.init[kind]
        weight = getattr(module, "weight", None)
        bias = getattr(module, "bias", None)
        if weight is not None and scheme != "default":
            gain = args.get("gain", 1.0)
            if isinstance(gain, str):
                gain = nn.init.calculate_gain(gain)
            with torch.no_grad():
                if scheme == "xavier_uniform":
                    nn.init.xavier_uniform_(weight, gain=gain)
                elif scheme == "xavier_normal":
                    nn.init.xavier_normal_(weight, gain=gain)
                elif scheme == "kaiming_uniform":
                    nn.init.kaiming_uniform_(weight, a=args.get("a", 0.0) or 0.0)
                elif scheme == "kaiming_normal":
                    nn.init.kaiming_normal_(weight, a=args.get("a", 0.0) or 0.0)
                elif scheme == "orthogonal":
                    nn.init.orthogonal_(weight, gain=gain)
                elif scheme == "normal":
                    nn.init.normal_(weight, args.get("mean", 0.0), args.get("std", 1.0))
                elif scheme == "uniform":
                    nn.init.uniform_(weight, args.get("a", -1.0), args.get("b", 1.0))
                elif scheme == "constant":
                    nn.init.constant_(weight, args.get("value", 0.0))
        if bias is not None and "bias" in args and args["bias"] is not None:
            with torch.no_grad():
                nn.init.constant_(bias, float(args["bias"]))


def _attach(model: nn.Module, path: str, module: nn.Module) -> None:
    parts = path.split(".")
    parent = model
    for p in parts[:-1]:
        child = parent._modules.get(p)
        if child is None:
            child = Scope()
            parent.add_module(p, child)
        parent = child
    parent.add_module(parts[-1], module)


class _Specialiser:
    """Resolves one network's IR for one genome into the straight-line steps of a NetworkModule."""

    def __init__(self, builder: Builder, genome: tuple[int, ...], made: dict[str, nn.Module], net: NetworkModule):
        self.b, self.genome, self.made, self.net = builder, genome, made, net
        self.env: dict[str, int | None] = {}

    def _slot(self) -> int:
        i = self.net._n_slots
        self.net._n_slots += 1
        return i

    def run(self, ir: dict) -> None:
        for i, name in enumerate(ir["inputs"]):
            self.env[name] = i
        for var, expr in ir["stmts"]:
            self.env[var] = self.expr(expr)
        result = ir["result"]
        items = result["items"] if result.get("t") == "tuple" else [result]
        out = []
        for item in items:
            v = self.expr(item)
            if v is None:  # the compiler proves results present; this guards a corrupted artifact
                raise ValueError(f"network `{ir['name']}` produced no output for genome {self.genome}")
            out.append(v)
        self.net._result = out

    def expr(self, e: dict) -> int | None:
        t = e["t"]
        if t == "var":
            return self.env[e["name"]]
        if t == "absent":
            return None
        if t == "apply":
            x = self.expr(e["x"])
            return None if x is None else self.layer(e["layer"], x)
        if t in ("sum", "add", "cat"):
            xs = [self.expr(i) for i in e["items"]]
            present = [x for x in xs if x is not None]
            if not present:
                return None
            if len(present) == 1:
                return present[0]
            out = self._slot()
            self.net._steps.append(("cat" if t == "cat" else "add", out, None, present))
            return out
        if t == "pick":  # the input this genome's pick chose
            return self.expr(e["choices"][self.genome[e["gene"]]])
        if t == "mul":
            a, b = (self.expr(i) for i in e["items"])
            if a is None or b is None:  # the compiler proves both present; this guards a corrupted artifact
                raise ValueError(f"an operand of `*` is absent for genome {self.genome}")
            out = self._slot()
            self.net._steps.append(("mul", out, None, [a, b]))
            return out
        if t == "otherwise":
            a = self.expr(e["a"])
            return a if a is not None else self.expr(e["b"])
        if t == "when":
            if self.cond(e["cond"]):
                return self.expr(e["then"])
            return self.expr(e["else"]) if e["else"] is not None else None
        raise ValueError(f"unknown IR node {t!r}")

    def cond(self, c: dict) -> bool:
        t = c["t"]
        if t == "gene_in":
            return self.genome[c["gene"]] in c["options"]
        if t == "const":
            return bool(c["value"])
        if t == "present":
            return self.env[c["var"]] is not None
        if t == "and":
            return self.cond(c["a"]) and self.cond(c["b"])
        if t == "or":
            return self.cond(c["a"]) or self.cond(c["b"])
        if t == "not":
            return not self.cond(c["a"])
        raise ValueError(f"unknown condition {t!r}")

    def layer(self, l: dict, x: int) -> int | None:
        t = l["t"]
        if t == "op":
            out = self._slot()
            self.net._steps.append(("mod", out, self.made[l["path"]], [x]))
            return out
        if t == "seq":
            for item in l["items"]:
                x = self.layer(item, x)
                if x is None:
                    return None
            return x
        if t == "identity":
            return x
        if t == "none":
            return None
        if t == "slot":
            g = l["gene"]
            # a tied slot has its own layers under its own name; the gene it reads is the genome's
            return self.layer(self.b.a["slots"][l.get("layers", str(g))][self.genome[g]], x)
        if t == "residual":
            body = self.layer(l["body"], x)
            out = self._slot()
            self.net._steps.append(("add", out, None, [x, body]))
            return out
        raise ValueError(f"unknown layer node {t!r}")


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
