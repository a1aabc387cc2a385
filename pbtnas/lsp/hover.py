"""Hover text (Markdown) for the symbol under the cursor: what the compiler knows about it.

A node: its shape in each instance, every guarded alternative (`[128, 16, 16] when ...downsample = on`). A slot or
param: its options and interface, and each gene it declares with its index in the genome. An option group: its
interface and options. An op: its signature and doc. A constant: its value.
"""

from __future__ import annotations

from pbtnas.compiler.ir import GeneDef
from pbtnas.compiler.messages import arg_expectation, signature, when
from pbtnas.dsl import ast
from pbtnas.layers.dims import shape_str
from pbtnas.layers.ops import REQUIRED, get_op
from pbtnas.lsp import unparse
from pbtnas.lsp.index import Index, Symbol

MAX_INSTANCES = 4  # instances listed per node or gene; the rest are counted
MAX_ALTERNATIVES = 6  # guarded alternatives listed per instance
MAX_OPTIONS = 12


def _code(text: str) -> str:
    return f"```nas\n{text}\n```"


def _options(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:MAX_OPTIONS])
    more = f", ... ({len(names) - MAX_OPTIONS} more)" if len(names) > MAX_OPTIONS else ""
    return f"{len(names)} option{'s' if len(names) != 1 else ''}: {shown}{more}"


def _genes_of(index: Index, stmt) -> list[GeneDef]:
    program = index.program
    if program is None:
        return []
    return [g for g in program.genes if g.span == stmt.span]


def _interface(g: GeneDef) -> str:
    if not g.in_pattern:
        return ""
    return f"{shape_str(g.in_pattern)} -> {shape_str(g.out_pattern)}"


def hover_text(index: Index, sym: Symbol) -> str | None:
    kind = sym.kind
    if kind == "op" or kind == "oparg":
        return _op(sym)
    node = sym.node
    if kind == "const":
        value = index.program.constants.get(sym.name) if index.program else None
        shown = f"\n\nvalue: `{value}`" if value is not None else ""
        return _code(f"const {sym.name} = {unparse.expr(node.expr)}") + shown
    if kind == "values":
        return _code(f"values {sym.name} = [{', '.join(unparse.expr(v) for v in node.values)}]") + \
            f"\n\nvalue list, {len(node.values)} values"
    if kind == "group":
        uses = len([o for o in index.references(sym.key, include_declaration=False)])
        return _code(unparse.header(node)) + f"\n\noption group, {_options([o.name for o in node.options])}" + \
            f"\n\nnamed {uses} time{'s' if uses != 1 else ''} in this file"
    if kind in ("block", "network"):
        genes = [s for s in index.locals_of(sym.name) if s.kind == "gene" or s.kind == "pick"]
        text = _code(unparse.header(node)) + f"\n\n{kind}, {len(genes)} gene statement{'s' if len(genes) != 1 else ''}"
        if kind == "block":
            n = len(index.references(sym.key, include_declaration=False))
            text += f"; instantiated {n} time{'s' if n != 1 else ''} in this file"
        return text
    if kind == "option":
        return _option(index, sym)
    if kind == "gene" or kind == "pick":
        return _gene(index, sym)
    if kind == "node":
        return _node(index, sym)
    if kind == "param":
        return _code(unparse.param(node)) + f"\n\nparameter of `{sym.owner}`" + \
            (" (an option group)" if node.kind == "options" else "")
    if kind == "shape_var":
        return _code(sym.name) + f"\n\nshape variable of `{sym.owner}`: bound by the shapes of its inputs"
    if kind == "loop_var":
        return _code(f"for {sym.name} in range({unparse.expr(node.start)}, {unparse.expr(node.stop)})") + \
            "\n\nloop index"
    return None


def _op(sym: Symbol) -> str | None:
    name = sym.key[1]
    spec = get_op(name)
    if spec is None:
        return None
    text = _code(signature(spec)) + (f"\n\n{spec.doc}" if spec.doc else "")
    if sym.kind == "oparg":
        arg = next((a for a in spec.args if a.name == sym.name), None)
        if arg is None:
            return text + f"\n\n`{name}` has no argument `{sym.name}`"
        default = "required" if arg.default is REQUIRED else f"default `{arg.default}`"
        text += f"\n\nargument `{arg.name}`: {arg_expectation(arg)}, {default}"
    return text


def _option(index: Index, sym: Symbol) -> str:
    container = sym.key[1]
    siblings = [s.name for s in index.options_of(container)]
    position = siblings.index(sym.name) if sym.name in siblings else -1
    where = {"group": "option group", "values": "value list", "local": "the options of"}[container[0]]
    text = f"option `{sym.name}`, {position} in the genome's encoding of {where} `{container[-1]}`" \
        f" ({len(siblings)} options)"
    if isinstance(sym.node, ast.OptionDef):
        return _code(f"{sym.name} = {unparse.expr(sym.node.expr)}") + "\n\n" + text
    return text


def _statement(stmt) -> str:
    if isinstance(stmt, ast.SlotRef):
        args = f"({', '.join(unparse.arg(a) for a in stmt.args)})" if stmt.args else ""
        return f"slot {stmt.name}: {stmt.group}{args}" + (f" tied {stmt.tied}" if stmt.tied else "")
    if isinstance(stmt, ast.SlotInline):
        return f"slot {stmt.name}: {unparse.shape(stmt.in_type)} -> {unparse.shape(stmt.out_type)} {{ ... }}"
    if isinstance(stmt, ast.ParamInline):
        return f"param {stmt.name}: [{', '.join(unparse.expr(v) for v in stmt.values)}]"
    if isinstance(stmt, ast.ParamRef):
        return f"param {stmt.name}: {stmt.values_name}"
    if isinstance(stmt, ast.Pick):
        return f"pick {stmt.name}: {stmt.k} of [{', '.join(unparse.expr(c) for c in stmt.candidates)}]"
    return stmt.name


def _gene(index: Index, sym: Symbol) -> str:
    genes = _genes_of(index, sym.node)
    parts = [_code(_statement(sym.node))]
    if not genes:
        parts.append("not in the genome: no network instantiates it, or an error stops its compilation")
        return "\n\n".join(parts)
    first = genes[0]
    interfaces = list(dict.fromkeys(i for i in (_interface(g) for g in genes) if i))
    line = f"{first.kind}, {_options(list(first.options))}"
    if interfaces:
        line += "; interface " + " | ".join(f"`{i}`" for i in interfaces)
    parts.append(line)
    listed = "\n".join(f"- #{g.index} `{g.name}`" for g in genes[:MAX_INSTANCES])
    more = f"\n- ... {len(genes) - MAX_INSTANCES} more" if len(genes) > MAX_INSTANCES else ""
    parts.append(f"in the genome ({len(genes)} gene{'s' if len(genes) != 1 else ''}):\n{listed}{more}")
    return "\n\n".join(parts)


def _node(index: Index, sym: Symbol) -> str:
    stmt = sym.node
    parts = [_code(f"{stmt.name} = {unparse.expr(stmt.expr)}")]
    values = [(prefix, v) for span, prefix, v in (index.program.nodes if index.program else []) if span == stmt.span]
    if not values:
        parts.append("no shape: no network reaches this node, or an error stops it")
        return "\n\n".join(parts)
    seen: dict[str, list[str]] = {}  # instances with the same alternatives are listed together
    for prefix, value in values:
        alts = []
        for alt in value.alts[:MAX_ALTERNATIVES]:
            shape = "absent" if alt.shape is None else f"`{shape_str(alt.shape)}`"
            guard = when(alt.guard).replace(prefix + ".", "")  # genes of this instance: their short names
            alts.append(shape if guard == "for every genome" else f"{shape} {guard}")
        if len(value.alts) > MAX_ALTERNATIVES:
            alts.append(f"... {len(value.alts) - MAX_ALTERNATIVES} more alternatives")
        seen.setdefault("\n".join(alts), []).append(prefix)
    for n, (alts, prefixes) in enumerate(seen.items()):
        if n == MAX_INSTANCES:
            parts.append(f"... {len(seen) - MAX_INSTANCES} more instances")
            break
        where = ", ".join(f"`{p}`" for p in prefixes)
        lines = alts.split("\n")
        if len(lines) == 1 and " when " not in lines[0]:
            parts.append(f"in {where}: {lines[0]}")
        else:
            parts.append(f"in {where}:\n" + "\n".join(f"- {a}" for a in lines))
    return "\n\n".join(parts)
