"""The document outline: declarations, and inside a body its genes, picks and nodes; inside a group its options."""

from __future__ import annotations

from lsprotocol import types as lsp

from pbtnas.dsl import ast
from pbtnas.lsp.convert import Positions

_KIND = {"const": lsp.SymbolKind.Constant, "values": lsp.SymbolKind.Enum, "group": lsp.SymbolKind.Interface,
         "block": lsp.SymbolKind.Class, "network": lsp.SymbolKind.Module, "option": lsp.SymbolKind.EnumMember,
         "gene": lsp.SymbolKind.Field, "pick": lsp.SymbolKind.Field, "node": lsp.SymbolKind.Variable,
         "space": lsp.SymbolKind.Namespace, "init": lsp.SymbolKind.Property, "loop": lsp.SymbolKind.Operator}


def _symbol(pos: Positions, name: str, kind: str, node, detail: str | None = None,
            children: list[lsp.DocumentSymbol] | None = None) -> lsp.DocumentSymbol:
    whole = pos.to_range(node.span)
    selection = pos.to_range(getattr(node, "name_span", None) or node.span)
    return lsp.DocumentSymbol(name=name or "?", kind=_KIND[kind], range=whole, selection_range=selection,
                              detail=detail, children=children or None)


def _body(pos: Positions, body: list[ast.Stmt]) -> list[lsp.DocumentSymbol]:
    out = []
    for s in body:
        if isinstance(s, (ast.SlotRef, ast.SlotInline)):
            detail = s.group if isinstance(s, ast.SlotRef) else "inline slot"
            out.append(_symbol(pos, s.name, "gene", s, f"slot: {detail}"))
        elif isinstance(s, (ast.ParamInline, ast.ParamRef)):
            out.append(_symbol(pos, s.name, "gene", s, "param"))
        elif isinstance(s, ast.Pick):
            out.append(_symbol(pos, s.name, "pick", s, f"pick {s.k} of {len(s.candidates)}"))
        elif isinstance(s, ast.Assign):
            out.append(_symbol(pos, s.name, "node", s))
        elif isinstance(s, ast.For):
            out.append(_symbol(pos, f"for {s.var}", "loop", s, children=_body(pos, s.body)))
    return out


def document_symbols(module: ast.Module, pos: Positions) -> list[lsp.DocumentSymbol]:
    out = []
    for d in module.decls:
        if isinstance(d, ast.SpaceDecl):
            out.append(_symbol(pos, d.name, "space", d, "space"))
        elif isinstance(d, ast.ConstDecl):
            out.append(_symbol(pos, d.name, "const", d, "const"))
        elif isinstance(d, ast.ValuesDecl):
            out.append(_symbol(pos, d.name, "values", d, f"{len(d.values)} values"))
        elif isinstance(d, ast.InitDecl):
            out.append(_symbol(pos, f"init {d.kind}", "init", d, d.scheme))
        elif isinstance(d, ast.OptionsDecl):
            options = [_symbol(pos, o.name, "option", o) for o in d.options]
            out.append(_symbol(pos, d.name, "group", d, f"{len(d.options)} options", options))
        elif isinstance(d, ast.BlockDecl):
            kind = "network" if d.is_network else "block"
            out.append(_symbol(pos, d.name, kind, d, kind, _body(pos, d.body)))
    return out
