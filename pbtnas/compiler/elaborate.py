"""AST -> checked program: the compiler's passes, run in order.

1. `declarations.py` collects the top-level declarations (constants with `--set` overrides, value lists, option
   groups, blocks, networks, init rules) into a `Declarations` environment.
2. `instances.py` walks each network; for every expression it asks
   - `static.py` for compile-time values (numbers, dimensions, names, layers with bound and checked arguments),
   - `conditions.py` for the guards of `when` / `if` conditions,
   - `tensors.py` for the shapes and guards of tensor expressions and layer applications,
   - `genes.py` to declare genes and prove every option of a slot fits its interface,
   and expands block instances in place (each with its own genes and module prefix).
3. `layout.py` holds the genome (genes in declaration order) and the op table the walk fills, and runs the
   whole-program checks (weights of one shape for every genome, unused genes).

Every user mistake becomes a diagnostic through one shared `Reporter`; checking goes on after an error so that one
pass reports them all. The result is plain data (`Program`, `ir.py`): genes in genome order and, per network, a
list of statements in a small JSON-able IR that `builder.py` specialises for one genome. docs/contracts.md
("Compiler passes") says what each pass takes and hands the next.
"""

from __future__ import annotations

from pbtnas.compiler.conditions import Conditions
from pbtnas.compiler.declarations import DeclarationCollector, parse_override_value
from pbtnas.compiler.genes import Genes
from pbtnas.compiler.instances import BlockElaborator
from pbtnas.compiler.ir import MAX_DIM, MAX_EXPONENT, GeneDef, NetworkIR, OpRecord, Program
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import Reporter, signature
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.compiler.tensors import TensorInference
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Collector, Span
from pbtnas.layers import dims

# Other modules and tests import these from here.
__all__ = ["MAX_DIM", "MAX_EXPONENT", "Elaborator", "GeneDef", "NetworkIR", "OpRecord", "Program",
           "parse_override_value", "signature"]


class Elaborator:
    def __init__(self, module: ast.Module, overrides: dict[str, str], diag: Collector):
        self.module, self.overrides, self.diag = module, dict(overrides), diag

    def run(self) -> Program:
        layout = GenomeLayout()
        # Arithmetic on integer genes is exact over their options: `dims` reads them from the layout as genes are
        # declared.
        with dims.gene_domains(layout.domains):
            return self._run(layout)

    def _run(self, layout: GenomeLayout) -> Program:
        report = Reporter(self.diag)
        decls = DeclarationCollector(self.module, self.overrides, report).run()
        conditions = Conditions(decls.consts, report)
        static = StaticEvaluator(decls.consts, decls.blocks, conditions, report)
        tensors = TensorInference(static, conditions, layout, report)
        genes = Genes(decls, static, tensors, layout, report)
        blocks = BlockElaborator(decls, static, tensors, genes, layout, report)
        networks: list[NetworkIR] = []
        for decl in decls.networks:
            net = blocks.network(decl)
            if net is not None:
                networks.append(net)
        if not decls.networks:
            # located at the top of the file, so editors and every other diagnostic have a place to point
            report.error("E0211", "the space declares no network", Span.point(1, 1),
                         hint="add `network NAME(x: [...]) -> [...] { ... }`")
        layout.check_ops(report)
        layout.warn_unused(report)
        return Program(decls.space_name, dict(decls.consts), layout.genes, networks, layout.ops, dict(decls.init))
