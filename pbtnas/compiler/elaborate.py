"""AST -> checked program: the compiler's passes, run in order.

1. `declarations.py` collects the top-level declarations (constants with `--set` overrides, value lists, option
   groups, blocks, networks, init rules) into a `Declarations` environment.
2. `instances.py` walks each network; for every expression it asks
   - `static.py` for compile-time values (numbers, dimensions, names, layers with bound and checked arguments;
     `intargs.py` checks integer arguments computed from genes),
   - `conditions.py` for the guards of `when` / `if` conditions,
   - `tensors.py` for the shapes and guards of tensor expressions and layer applications (`tensor_products.py`
     for `a * b`, `picks.py` for `inputs[j]`, `repetition.py` for `c[i]`),
   - `genes.py` to declare genes and prove every option of a slot fits its interface (`tying.py` for `tied`),
   and expands block instances in place (each with its own genes and module prefix), unrolls `for` loops
   (`repetition.py`) and declares picks (`picks.py`).
3. `layout.py` holds the genome (genes in declaration order) and the op table the walk fills, and runs the
   whole-program checks (weights of one shape for every genome); `tying.finish` completes the tied genes;
   `unreached.py` checks the names in declarations no network reached and in statements an error cut short; last,
   `layout.py` warns of unused genes.

Every user mistake becomes a diagnostic through one shared `Reporter`; checking goes on after an error so that one
pass reports them all. The result is plain data (`Program`, `ir.py`): genes in genome order and, per network, a
list of statements in a small JSON-able IR that `builder.py` specialises for one genome. docs/contracts.md
("Compiler passes") says what each pass takes and hands the next.
"""

from __future__ import annotations

from pbtnas.compiler import tying
from pbtnas.compiler.conditions import Conditions
from pbtnas.compiler.declarations import DeclarationCollector, parse_override_value
from pbtnas.compiler.genes import Genes
from pbtnas.compiler.instances import BlockElaborator
from pbtnas.compiler.ir import MAX_DIM, MAX_EXPONENT, GeneDef, NetworkIR, OpRecord, Program
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import Reporter, signature
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.compiler.tensors import TensorInference
from pbtnas.compiler.unreached import check_unreached, failed_statements
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
        static = StaticEvaluator(decls.consts, decls.blocks, report)
        conditions = Conditions(static, report)
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
        tied_slots = tying.finish(genes)
        # The declarations no network reached, and the statements an error cut short, still get their names checked.
        check_unreached(self.module, genes.reached | blocks.reached, decls.consts, decls.values, report.error)
        error_spans = [d.span for d in self.diag.errors if d.span]
        hidden = failed_statements(self.module, error_spans, decls.consts, decls.values, report.error)
        layout.warn_unused(report, hidden)
        return Program(decls.space_name, dict(decls.consts), layout.genes, networks, layout.ops, dict(decls.init),
                       tied_slots, blocks.nodes)
