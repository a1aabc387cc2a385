"""Genome layout: genes in genome order, the op table (every module path and its weight shapes), and the checks
that need the whole program.

The other passes fill it: genes are registered when declared (`register`, their option count feeds guard
simplification) and given their genome index in declaration order, block instances expanded in place (`place`);
`tensors.py` records each op application in `ops`. After every network is elaborated, `check_ops` proves each
module's weights have one shape for every genome and `warn_unused` names genes nothing reads (unless a failed
statement hid their use).
"""

from __future__ import annotations

from pbtnas.compiler.ir import GeneDef, OpRecord
from pbtnas.compiler.messages import Reporter
from pbtnas.layers.dims import shape_str


class GenomeLayout:
    def __init__(self) -> None:
        self.genes: list[GeneDef] = []  # genome order
        self.n_options: dict[GeneDef, int] = {}
        self.domains: dict[str, tuple[int, ...]] = {}  # options of integer genes, for exact arithmetic on genes
        self.ops: dict[str, OpRecord] = {}  # module path (`path#option` inside a slot) -> record

    def register(self, gene: GeneDef) -> GeneDef:
        self.n_options[gene] = len(gene.values)
        return gene

    def place(self, gene: GeneDef) -> bool:
        """Give `gene` the next genome index; False when it already has one (an instance checked again)."""
        if gene.index >= 0:
            return False
        gene.index = len(self.genes)
        self.genes.append(gene)
        return True

    # -- whole-program checks ----------------------------------------------------------------------------------------
    def check_ops(self, report: Reporter) -> None:
        for path, rec in self.ops.items():
            distinct = list(dict.fromkeys(rec.param_dims))
            if len(distinct) > 1:
                report.error("E0208", f"the weights of `{path}` would change shape between genomes", rec.span,
                             found=" vs ".join(shape_str(d) for d in distinct[:3]),
                             hint="the layer's input size varies with other genes; make it fixed before this layer "
                                  "(e.g. a global pool) or declare the dimension as a gene")
            for dims in distinct:
                for d in dims:
                    stray = {s for s in d.symbols if s.startswith("$")}
                    if stray:
                        report.error("E0208", f"the weights of `{path}` depend on the shape variable "
                                     f"`{sorted(stray)[0].rsplit('.', 1)[-1]}`", rec.span,
                                     hint="layers inside a generic block can only size their weights by constants "
                                          "and genes")
                        break

    def warn_unused(self, report: Reporter, hidden: set[str] = frozenset()) -> None:
        """W0301 for each gene nothing reads, except those named in `hidden`: read by a statement that failed, their
        use was not seen, so the warning would be a false alarm."""
        for gene in self.genes:
            if not gene.used and gene.name.rsplit(".", 1)[-1] not in hidden:
                report.warning("W0301", f"gene `{gene.name}` is declared but never used", gene.span,
                               hint="remove it, or use it: an unused gene only inflates the space")
