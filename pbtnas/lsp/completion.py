"""Completion: what may be written at the cursor, from the text before it on its line and the position index.

- inside `gene in [` (a condition): the gene's options; inside `pick[j] in [`: the pick's candidates;
- after `slot NAME:` the option groups (and the enclosing block's `options` parameters); after `param NAME:` the
  value lists; after `instance.` the nodes of the instance's block;
- anywhere else in an expression: ops with their arguments, blocks with their parameters, the names the enclosing
  body declares, constants, option groups and the language's own combinators.
The text before the cursor is read because it is being typed and need not parse; what the names mean comes from the
index (of this version, or of the last version that parsed when the cursor's declaration does not).
"""

from __future__ import annotations

from lsprotocol import types as lsp

from pbtnas.compiler.messages import signature
from pbtnas.dsl import ast
from pbtnas.layers.ops import REQUIRED, get_op, op_names
from pbtnas.lsp import unparse
from pbtnas.lsp.index import Index, Symbol

# The language's own names (docs/language.md), never ops: `none` `identity` in options, `residual` `sum` `cat`.
COMBINATORS = {"none": "no tensor: the edge is left out of its node's sum", "identity": "the input unchanged",
               "residual": "residual(layer): x + layer(x)", "sum": "sum(a, b, ...): absent terms are left out",
               "cat": "cat(a, b, ...): concatenation along the channels"}


# Keywords followed by the name a statement or declaration introduces.
_NAMING = frozenset({"tied", "slot", "param", "pick", "const", "values", "options", "block", "network", "space",
                     "for"})


def _trailing_word(text: str) -> str:
    i = len(text)
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
        i -= 1
    return text[i:]


def context(prefix: str) -> tuple[str, str | None]:
    """(what is completed, the name it depends on) for the text before the cursor on its line."""
    before = prefix[:len(prefix) - len(_trailing_word(prefix))]
    opened = before.rfind("[")
    if opened >= 0 and "]" not in before[opened:]:
        head = before[:opened].rstrip()
        if head.endswith("in") and (len(head) == 2 or not (head[-3].isalnum() or head[-3] == "_")):
            target = head[:-2].rstrip()
            if target.endswith("]"):  # `in2[0] in [`: the candidates of a pick
                base = target[:target.rfind("[")] if "[" in target else ""
                return "candidates", _trailing_word(base.rstrip()) or None
            return "options", _trailing_word(target) or None
    words = before.replace(":", " : ").split()
    if len(words) >= 3 and words[-1] == ":" and words[-3] in ("slot", "param"):
        return ("groups" if words[-3] == "slot" else "values"), None
    if words and words[-1] in _NAMING:
        return "nothing", None  # a new name is being written
    if before.endswith(".") and _trailing_word(before[:-1]):
        return "members", _trailing_word(before[:-1])
    return "expression", None


def _item(label: str, kind: lsp.CompletionItemKind, detail: str | None = None, doc: str | None = None,
          snippet: str | None = None, sort: str = "5") -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=label, kind=kind, detail=detail,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc else None,
        insert_text=snippet, insert_text_format=lsp.InsertTextFormat.Snippet if snippet else None,
        sort_text=f"{sort}{label}")


def _op_items(snippets: bool) -> list[lsp.CompletionItem]:
    items = []
    for name in op_names():
        spec = get_op(name)
        required = [a.name for a in spec.args if a.default is REQUIRED]
        snippet = None
        if snippets and required:
            snippet = f"{name}(" + ", ".join(f"${{{i + 1}:{a}}}" for i, a in enumerate(required)) + ")"
        items.append(_item(name, lsp.CompletionItemKind.Function, signature(spec), spec.doc or None, snippet, "3"))
    return items


def _local_kind(sym: Symbol) -> lsp.CompletionItemKind:
    return {"gene": lsp.CompletionItemKind.Field, "pick": lsp.CompletionItemKind.Field,
            "node": lsp.CompletionItemKind.Variable, "param": lsp.CompletionItemKind.Variable,
            "shape_var": lsp.CompletionItemKind.TypeParameter}.get(sym.kind, lsp.CompletionItemKind.Variable)


def _top(index: Index, kind: str) -> list[Symbol]:
    return [s for k, s in index.symbols.items() if k[0] == kind]


def complete(index: Index, fallback: Index | None, line: int, prefix: str, snippets: bool = True
             ) -> list[lsp.CompletionItem]:
    """Completion items at 1-based `line`, `prefix` being the text before the cursor on that line."""
    what, name = context(prefix)
    decl = index.decl_at(line)
    if decl is None and fallback is not None and fallback.decl_at(line) is not None:
        index, decl = fallback, fallback.decl_at(line)  # the cursor's declaration does not parse now
    owner = decl.name if isinstance(decl, (ast.BlockDecl, ast.OptionsDecl)) else None
    if what == "nothing":
        return []
    if what == "options":
        return _options(index, owner, name)
    if what == "candidates":
        pick = index.symbols.get(("local", owner, name or ""))
        if pick is None or not isinstance(pick.node, ast.Pick):
            return []
        return [_item(unparse.expr(c), lsp.CompletionItemKind.EnumMember, f"candidate of pick `{name}`", sort="1")
                for c in pick.node.candidates]
    if what == "groups":
        items = [_item(s.name, lsp.CompletionItemKind.Interface, unparse.header(s.node), sort="1")
                 for s in _top(index, "group")]
        items += [_item(s.name, lsp.CompletionItemKind.Interface, f"option group parameter of `{owner}`", sort="0")
                  for s in index.locals_of(owner) if s.kind == "param" and s.node.kind == "options"]
        return items
    if what == "values":
        return [_item(s.name, lsp.CompletionItemKind.Enum, f"values {s.name}", sort="1") for s in _top(index, "values")]
    if what == "members":
        node = index.symbols.get(("local", owner, name))
        if node is None or not isinstance(node.node, ast.Assign) or not isinstance(node.node.expr, ast.Call):
            return []
        block = node.node.expr.fn
        return [_item(s.name, lsp.CompletionItemKind.Variable, f"node of `{block}`", sort="1")
                for s in index.locals_of(block) if s.kind == "node"]
    return _expression(index, owner, snippets)


def _options(index: Index, owner: str | None, name: str | None) -> list[lsp.CompletionItem]:
    key = ("local", owner, name or "")
    container = index.option_container(key) if key in index.symbols else None
    if container is not None:
        options = [s.name for s in index.options_of(container)]
        where = container[-1]
    else:  # a slot of an option group passed as a parameter: the options its instances have
        sym = index.symbols.get(key)
        genes = [g for g in (index.program.genes if index.program else [])
                 if sym is not None and g.span == sym.node.span]
        options = list(dict.fromkeys(o for g in genes for o in g.options))
        where = name or "?"
    return [_item(o, lsp.CompletionItemKind.EnumMember, f"option {i} of `{where}`", sort=f"1{i:04d}")
            for i, o in enumerate(options)]


def _expression(index: Index, owner: str | None, snippets: bool) -> list[lsp.CompletionItem]:
    items = []
    if owner is not None:
        items += [_item(s.name, _local_kind(s), f"{s.kind} of `{owner}`", sort="0") for s in index.locals_of(owner)]
    constants = index.program.constants if index.program else {}
    items += [_item(s.name, lsp.CompletionItemKind.Constant, f"const = {constants.get(s.name, '?')}", sort="1")
              for s in _top(index, "const")]
    for s in _top(index, "block"):
        if s.kind != "block":
            continue
        params = [p.name for p in s.node.params]
        snippet = f"{s.name}(" + ", ".join(f"{p}=${{{i + 1}}}" for i, p in enumerate(params)) + ")" \
            if snippets and params else None
        items.append(_item(s.name, lsp.CompletionItemKind.Class, unparse.header(s.node), snippet=snippet, sort="2"))
    items += [_item(s.name, lsp.CompletionItemKind.Interface, unparse.header(s.node), sort="4")
              for s in _top(index, "group")]
    items += _op_items(snippets)
    items += [_item(n, lsp.CompletionItemKind.Keyword, doc, sort="3") for n, doc in COMBINATORS.items()]
    return items
