"""Genes: declaring slots and params, and proving every option of a slot fits the slot's interface.

`declare` turns a `slot` / `param` statement into a `GeneDef` (once per instance path: an instance checked again
for another input shape gets the same gene) and registers it with the genome layout. `check_slot` evaluates each
option to a layer value, applies it to the slot's input pattern with fresh shape variables, and checks its output
against the slot's declared output, so "every option fits" holds for every value of `H`, `W` and dimension genes;
the options' IR and symbolic ops are stored on the gene (`option_layers`, `option_ops`) for `tensors.py` to make
concrete where the slot is applied. Slots of one option group with the same arguments share that work.
Tied slots and params (`tied NAME`) are named and linked to their genome gene through `tying.py`.
"""

from __future__ import annotations

from typing import Any

from pbtnas.compiler import tying
from pbtnas.compiler.declarations import Declarations, literal_values
from pbtnas.compiler.guards import TVal
from pbtnas.compiler.ir import ERR_SHAPE, GeneDef, PathCounter, Scope, is_layer, shape_eq
from pbtnas.compiler.layout import GenomeLayout
from pbtnas.compiler.messages import Reporter, fmt_static, shape_hint, suggest
from pbtnas.compiler.static import StaticEvaluator
from pbtnas.compiler.tensors import TensorInference
from pbtnas.dsl import ast
from pbtnas.layers import dims
from pbtnas.layers.dims import Dim, shape_str


class Genes:
    def __init__(self, decls: Declarations, static: StaticEvaluator, tensors: TensorInference, layout: GenomeLayout,
                 report: Reporter):
        self.decls, self.static, self.tensors, self.layout, self.report = decls, static, tensors, layout, report
        self.error = report.error  # every diagnostic goes through the one de-duplicating reporter
        self.by_name: dict[str, GeneDef] = {}  # every gene declared, by its full name (tied leaders excepted)
        self._slot_templates: dict = {}  # (group, arguments) -> the first slot checked with them
        self.ties = tying.TieRegistry()
        self.reached: set[str] = set()  # option groups the networks elaborated (unreached.py checks the others)

    def declare(self, stmt, scope: Scope) -> GeneDef | None:
        name = f"{scope.prefix}.{stmt.name}"
        tied = tying.shared_name(self, stmt, scope)  # hook: a tied param is one gene; a tied slot follows one
        if tied is not None and isinstance(stmt, (ast.ParamInline, ast.ParamRef)):
            name = tied
        if name in self.by_name:  # the same instance checked again for another input shape
            return self.by_name[name]
        gene = self._new_gene(stmt, scope, name)
        if gene is not None:
            self.by_name[name] = gene
            if tied is not None and gene.kind == "slot":
                tying.follow(self, gene, tied, stmt)
        return gene

    def _new_gene(self, stmt, scope: Scope, name: str) -> GeneDef | None:
        if isinstance(stmt, ast.ParamInline):
            values = literal_values(stmt.values, stmt.span, self.report)
        elif isinstance(stmt, ast.ParamRef):
            if stmt.values_name not in self.decls.values:
                self.error("E0101", f"undefined value list `{stmt.values_name}`", stmt.values_span,
                           hint=suggest(stmt.values_name, self.decls.values) or "declare it with `values NAME = [...]`")
                return None
            values = list(self.decls.values[stmt.values_name])
        elif isinstance(stmt, ast.SlotRef):
            group = self._group_for(stmt, scope)
            if group is None:
                return None
            values = [o.name for o in group.options]
            if not values:
                self.error("E0209", f"slot `{stmt.name}` has no options (group `{group.name}` is empty)", stmt.span)
                return None
            for i, o in enumerate(group.options):
                if o.name in values[:i]:
                    self.error("E0102", f"option `{o.name}` is listed twice in `{group.name}`", o.span)
            gene = GeneDef(name, "slot", [str(v) for v in values], values, stmt.span)
            self.layout.register(gene)
            return gene
        else:
            values = [o.name for o in stmt.options]
            if not values:
                self.error("E0209", f"slot `{stmt.name}` has no options", stmt.span,
                           hint="a slot needs at least one option; use `param` for a fixed choice")
                return None
            for i, o in enumerate(stmt.options):
                if o.name in values[:i]:
                    self.error("E0102", f"option `{o.name}` is listed twice in slot `{stmt.name}`", o.span)
            gene = GeneDef(name, "slot", list(values), list(values), stmt.span)
            self.layout.register(gene)
            return gene
        if not values:
            self.error("E0209", f"param `{stmt.name}` has no values", stmt.span)
            return None
        gene = GeneDef(name, "param", [value_name(v) for v in values], values, stmt.span)
        self.layout.register(gene)
        if gene.numeric:
            self.layout.domains[gene.symbol] = tuple(values)
        return gene

    def _group_for(self, stmt: ast.SlotRef, scope: Scope) -> ast.OptionsDecl | None:
        target = scope.names.get(stmt.group, stmt.group)
        if isinstance(target, ast.OptionsDecl):
            return target
        group = self.decls.groups.get(target) if isinstance(target, str) else None
        if group is None:
            self.error("E0101", f"undefined option group `{stmt.group}`", stmt.group_span,
                       hint=suggest(stmt.group, self.decls.groups)
                       or "declare it with `options NAME: [...] -> [...] {...}`")
        return group

    def check_slot(self, gene: GeneDef, stmt, scope: Scope) -> None:
        if isinstance(stmt, ast.SlotRef):
            group = self._group_for(stmt, scope)
            if group is None:
                return
            gscope = Scope(gene.name, scope.var_prefix, {}, in_options=True)
            for sv in group.shape_vars:
                gscope.names[sv.id] = Dim.sym(f"${sv.id}")
            if len(stmt.args) > len(group.params):
                self.error("E0104", f"option group `{group.name}` takes {len(group.params)} argument(s)", stmt.span,
                           found=str(len(stmt.args)), expected=str(len(group.params)))
            bound: dict[str, Any] = {}
            positional = [a for a in stmt.args if a.name is None]
            for p, a in zip(group.params, positional):
                bound[p.name] = a
            for a in stmt.args:
                if a.name is not None:
                    if a.name not in {p.name for p in group.params}:
                        self.error("E0104", f"option group `{group.name}` has no parameter `{a.name}`", a.span)
                    else:
                        bound[a.name] = a
            for p in group.params:
                if p.name not in bound:
                    self.error("E0104", f"option group `{group.name}` needs argument `{p.name}`", stmt.span)
                    return
                if p.kind == "options":
                    val = bound[p.name].value
                    gscope.names[p.name] = self.decls.groups.get(val.id) if isinstance(val, ast.Name) else None
                    continue
                v = self.static.evaluate(bound[p.name].value, scope)
                if v is None:
                    return
                if is_layer(v):
                    self.error("E0105", f"argument `{p.name}` of option group `{group.name}` is a value; "
                               "this is a layer", bound[p.name].value.span,
                               hint="layers are passed to a group through an `options` parameter")
                    return
                if isinstance(v, GeneDef):
                    v.used = True
                gscope.names[p.name] = v
            in_type, out_type, options = group.in_type, group.out_type, group.options
            # Slots of the same group with the same arguments have the same options: check them once.
            template_key = (group.name, tuple((k, id(v) if isinstance(v, (GeneDef, ast.OptionsDecl)) else v)
                                              for k, v in gscope.names.items()))
            template = self._slot_templates.get(template_key)
            if template is not None:
                copy_slot(template, gene)
                return
        else:
            template_key = None
            gscope = Scope(gene.name, scope.var_prefix, dict(scope.names), in_options=True)
            in_type, out_type, options = stmt.in_type, stmt.out_type, stmt.options
            # inline slots use the enclosing block's shape variables, but checked generically
            for k, v in list(gscope.names.items()):
                if isinstance(v, Dim) and v.as_single_symbol() == f"${scope.prefix}.{k}":
                    gscope.names[k] = Dim.sym(f"${k}")
        if isinstance(stmt, ast.SlotRef):
            self.reached.add(group.name)
        with dims.collect_obligations() as found:
            self._check_options(gene, stmt, gscope, in_type, out_type, options)
        gene.obligations = list(dict.fromkeys(found))
        if template_key is not None:
            self._slot_templates[template_key] = gene

    def _check_options(self, gene: GeneDef, stmt, gscope: Scope, in_type, out_type, options) -> None:
        ins, outs = self.static.shape(in_type, gscope), self.static.shape(out_type, gscope)
        if ins is None or outs is None:
            return
        gene.in_pattern, gene.out_pattern = ins, outs
        none_opts = set()
        for i, opt in enumerate(options):
            layer = self.static.evaluate(opt.expr, gscope)
            if layer is None:
                gene.option_layers.append({"t": "none"})
                continue
            if not is_layer(layer):
                self.error("E0105", f"option `{opt.name}` must be a layer", opt.expr.span,
                           found=f"`{fmt_static(layer)}`",
                           hint="an option is a layer such as `relu >> conv(C, k=3, pad=1)` or `none`")
                gene.option_layers.append({"t": "none"})
                continue
            n_before = len(gene.option_ops)
            out, ir = self.tensors.apply(layer, TVal.present(ins), PathCounter(gene.name), gscope,
                                          record=gene, option=i)
            gene.option_layers.append(ir)
            if any(o[3].param_dims(o[2], o[4]) for o in gene.option_ops[n_before:]):
                gene.weighted_options.add(i)
            if out.always_absent:
                none_opts.add(i)
                continue
            if out.maybe_absent:
                self.error("E0204", f"option `{opt.name}` of slot `{stmt.name}` is absent only sometimes",
                           opt.expr.span, hint="an option is either `none` or always produces a tensor")
                continue
            for shape in out.shapes:
                if shape is ERR_SHAPE:
                    continue
                if not shape_eq(shape, outs):
                    self.error("E0201", f"option `{opt.name}` of slot `{stmt.name}` does not match the slot interface",
                               opt.span, found=shape_str(shape), expected=shape_str(outs),
                               notes=(f"the slot maps {shape_str(ins)} -> {shape_str(outs)}; every option must "
                                      f"produce that output for every value of its shape variables",),
                               hint=shape_hint(shape, outs))
        gene.none_options = frozenset(none_opts)


def copy_slot(template: GeneDef, gene: GeneDef) -> None:
    """Give `gene` the checked options of `template`, with module paths moved under `gene`'s name."""
    old, new = template.name, gene.name

    def rename(path: str) -> str:
        return new + path[len(old):] if path == old or path.startswith(old + ".") else path

    def copy_ir(node: Any) -> Any:
        if type(node) is dict:
            return {k: (rename(v) if k == "path" else v if k == "args" else copy_ir(v)) for k, v in node.items()}
        if type(node) is list:
            return [copy_ir(x) for x in node]
        return node

    gene.in_pattern, gene.out_pattern = template.in_pattern, template.out_pattern
    gene.none_options = template.none_options
    gene.weighted_options = set(template.weighted_options)
    gene.obligations = list(template.obligations)
    gene.option_ops = [(rename(p), o, shape, spec, args) for p, o, shape, spec, args in template.option_ops]
    gene.ops_source = template.ops_source or template
    gene.option_layers = [copy_ir(ir) for ir in template.option_layers]



def value_name(v: Any) -> str:
    return str(v)
