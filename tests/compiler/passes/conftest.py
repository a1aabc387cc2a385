"""Build the compiler's passes by hand, as `elaborate.py` wires them, so a test can call one pass directly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pbtnas.compiler.conditions import Conditions
from pbtnas.compiler.declarations import DeclarationCollector, Declarations
from pbtnas.compiler.genes import Genes
from pbtnas.compiler.instances import BlockElaborator
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import Reporter
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.compiler.tensors import TensorInference
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Collector
from pbtnas.dsl.parser import parse
from pbtnas.layers import dims


@dataclass
class Passes:
    module: ast.Module
    diag: Collector
    report: Reporter
    decls: Declarations
    static: StaticEvaluator
    conditions: Conditions
    tensors: TensorInference
    genes: Genes
    blocks: BlockElaborator
    layout: GenomeLayout

    def codes(self) -> list[str]:
        return [d.code for d in self.diag.items]

    def exprs(self, block: str = "net") -> dict[str, ast.Expr]:
        """The expressions of a block's or network's assignments, by node name (to hand a pass one expression)."""
        decl = next(d for d in self.module.decls if isinstance(d, ast.BlockDecl) and d.name == block)
        return {s.name: s.expr for s in decl.body if isinstance(s, ast.Assign)}

    def find(self, code: str):
        hits = [d for d in self.diag.items if d.code == code]
        assert hits, f"no {code} among {self.codes()}"
        return hits[0]


@pytest.fixture
def passes() -> Iterator:
    """`passes(text, **overrides)`: the declarations pass run on `text`, and every later pass constructed (not run).
    Arithmetic on integer genes reads the layout's domains, as during a real compilation."""
    stack = []

    def build(text: str, **overrides: str) -> Passes:
        module = parse(text, "test.nas")
        diag = Collector()
        report = Reporter(diag)
        layout = GenomeLayout()
        ctx = dims.gene_domains(layout.domains)
        ctx.__enter__()
        stack.append(ctx)
        decls = DeclarationCollector(module, overrides, report).run()
        static = StaticEvaluator(decls.consts, decls.blocks, report)
        conditions = Conditions(static, report)
        tensors = TensorInference(static, conditions, layout, report)
        genes = Genes(decls, static, tensors, layout, report)
        blocks = BlockElaborator(decls, static, tensors, genes, layout, report)
        return Passes(module, diag, report, decls, static, conditions, tensors, genes, blocks, layout)

    yield build
    while stack:
        stack.pop().__exit__(None, None, None)
