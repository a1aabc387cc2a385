"""Text -> typed AST. The grammar lives in `grammars/nas.lark`; this module only maps its trees to `ast` nodes
and turns lark's exceptions into diagnostics with friendly labels."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from pbtnas.dsl import ast, tables
from pbtnas.dsl.diagnostics import Diagnostic, DiagnosticError, Source, Span

GRAMMAR_PATH = Path(__file__).resolve().parents[2] / "grammars" / "nas.lark"


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return tables.make_parser(GRAMMAR_PATH)


def _span(meta) -> Span:
    if getattr(meta, "empty", False):
        return Span(1, 1, 1, 2)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(tok: Token) -> Span:
    return Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + len(tok))


MAX_LITERAL_DIGITS = 100


class _LiteralError(Exception):
    """A literal the grammar accepts but no value can hold; carried out of the transformer as a diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _named(node, tok: Token):
    """`node` with the span of the token that names it (the declaration's own span covers the whole statement)."""
    node.name_span = _tok_span(tok)
    return node


class _Tied(str):
    """The name after `tied`, told apart from the statement's other items."""


_STMT_TYPES = (ast.SlotRef, ast.SlotInline, ast.ParamInline, ast.ParamRef, ast.Assign, ast.Return, ast.For, ast.Pick)


class _ToAst(Transformer):
    """One method per grammar rule/alias; each returns an `ast` node carrying its span."""

    # -- values -------------------------------------------------------------------------------------------------
    @v_args(meta=True)
    def int(self, meta, items):
        text = str(items[0])
        if len(text) > MAX_LITERAL_DIGITS:  # Python refuses to convert past 4300 digits; no size needs 100
            raise _LiteralError(Diagnostic(
                "E0004", f"a number literal of {len(text)} digits", _span(meta),
                expected=f"at most {MAX_LITERAL_DIGITS} digits", found=f"{text[:12]}...",
                hint="sizes, counts and strides are small integers"))
        return ast.Int(int(text), span=_span(meta))

    @v_args(meta=True)
    def float(self, meta, items):
        value = float(items[0])
        if not math.isfinite(value):  # 1e999 reads as inf: no layer argument means that
            raise _LiteralError(Diagnostic("E0004", f"the number `{items[0]}` is too large for a float",
                                           _span(meta), expected="a finite number", found=str(items[0])))
        return ast.Float(value, span=_span(meta))

    @v_args(meta=True)
    def string(self, meta, items):
        return ast.Str(str(items[0])[1:-1], span=_span(meta))

    @v_args(meta=True)
    def name(self, meta, items):
        return ast.Name(str(items[0]), span=_span(meta))

    @v_args(meta=True)
    def name_value(self, meta, items):
        return ast.Name(str(items[0]), span=_span(meta))

    @v_args(meta=True)
    def neg_value(self, meta, items):
        v = items[0]
        return type(v)(-v.value, span=_span(meta))

    def value_list(self, items):
        return list(items)

    # -- expressions --------------------------------------------------------------------------------------------
    def _bin(op):  # noqa: N805 - a small factory used at class-creation time
        @v_args(meta=True)
        def method(self, meta, items):
            return ast.BinOp(op, items[0], items[1], span=_span(meta))
        return method

    add, sub, mul, div = _bin("add"), _bin("sub"), _bin("mul"), _bin("div")
    floordiv, mod, pow, pipe, otherwise = _bin("floordiv"), _bin("mod"), _bin("pow"), _bin("pipe"), _bin("otherwise")

    @v_args(meta=True)
    def neg(self, meta, items):
        return ast.Neg(items[0], span=_span(meta))

    @v_args(meta=True)
    def when(self, meta, items):
        return ast.When(items[0], items[1], span=_span(meta))

    @v_args(meta=True)
    def ifelse(self, meta, items):
        return ast.IfElse(items[0], items[1], items[2], span=_span(meta))

    @v_args(meta=True)
    def call(self, meta, items):
        fn, args = items
        return ast.Call(str(fn), _tok_span(fn), args, span=_span(meta))

    def call_args(self, items):
        return [a for a in items if a is not None]

    @v_args(meta=True)
    def arg(self, meta, items):
        return ast.Arg(None, items[0], span=_span(meta))

    @v_args(meta=True)
    def kwarg(self, meta, items):
        return ast.Arg(str(items[0]), items[1], span=_span(meta))

    @v_args(meta=True)
    def attr(self, meta, items):
        return ast.Attr(items[0], str(items[1]), span=_span(meta))

    @v_args(meta=True)
    def index(self, meta, items):
        return ast.Index(str(items[0]), items[1], span=_span(meta))

    @v_args(meta=True)
    def tuple(self, meta, items):
        return ast.TupleExpr(list(items), span=_span(meta))

    @v_args(meta=True)
    def list_literal(self, meta, items):
        return ast.ListExpr(list(items[0].dims), span=_span(meta))

    # -- conditions ---------------------------------------------------------------------------------------------
    @v_args(meta=True)
    def cond_name(self, meta, items):
        return ast.CondName(str(items[0]), span=_span(meta))

    @v_args(meta=True)
    def cond_in(self, meta, items):
        return ast.CondIn(str(items[0]), items[1], span=_span(meta))

    @v_args(meta=True)
    def cond_index_in(self, meta, items):
        return ast.CondIn(str(items[0]), items[2], index=items[1], span=_span(meta))

    @v_args(meta=True)
    def cond_eq(self, meta, items):
        return ast.CondEq(str(items[0]), items[1], False, span=_span(meta))

    @v_args(meta=True)
    def cond_ne(self, meta, items):
        return ast.CondEq(str(items[0]), items[1], True, span=_span(meta))

    @v_args(meta=True)
    def cond_not(self, meta, items):
        return ast.CondNot(items[0], span=_span(meta))

    @v_args(meta=True)
    def cond_and(self, meta, items):
        return ast.CondBool("and", items[0], items[1], span=_span(meta))

    @v_args(meta=True)
    def cond_or(self, meta, items):
        return ast.CondBool("or", items[0], items[1], span=_span(meta))

    # -- types --------------------------------------------------------------------------------------------------
    @v_args(meta=True)
    def shape_type(self, meta, items):
        return ast.ShapeType([d for d in items if d is not None], span=_span(meta))

    @v_args(meta=True)
    def union(self, meta, items):
        return ast.UnionType(list(items), span=_span(meta))

    @v_args(meta=True)
    def tuple_type(self, meta, items):
        alts = [i if isinstance(i, ast.UnionType) else ast.UnionType([i], span=i.span) for i in items]
        return ast.TupleType(alts, span=_span(meta))

    def shape_vars(self, items):
        return [ast.Name(str(t), span=_tok_span(t)) for t in items]

    def params(self, items):
        return [p for p in items if p is not None]

    @v_args(meta=True)
    def param(self, meta, items):
        name, kind = items
        if isinstance(kind, ast.Param):  # tensor_param carries its shape
            kind.name, kind.span = str(name), _span(meta)
            return _named(kind, name)
        return _named(ast.Param(str(name), "options" if kind == "options" else "value", span=_span(meta)), name)

    @v_args(meta=True)
    def param_untyped(self, meta, items):
        return _named(ast.Param(str(items[0]), "value", span=_span(meta)), items[0])

    @v_args(meta=True)
    def tensor_param(self, meta, items):
        return ast.Param("", "tensor", items[0], optional=len(items) > 1, span=_span(meta))

    def kind_param(self, items):
        return str(items[0])

    # -- statements ---------------------------------------------------------------------------------------------
    @v_args(meta=True)
    def option(self, meta, items):
        return _named(ast.OptionDef(str(items[0]), items[1], span=_span(meta)), items[0])

    @v_args(meta=True)
    def slot_ref(self, meta, items):
        items = list(items)
        tied = items.pop() if items and isinstance(items[-1], _Tied) else None
        name, group = items[0], items[1]
        args = items[2] if len(items) > 2 else []
        return _named(ast.SlotRef(str(name), str(group), _tok_span(group), args, tied=str(tied) if tied else None,
                                  span=_span(meta)), name)

    def tied(self, items):
        return _Tied(str(items[0]))

    @v_args(meta=True)
    def slot_inline(self, meta, items):
        return _named(ast.SlotInline(str(items[0]), items[1], items[2], list(items[3:]), span=_span(meta)), items[0])

    @v_args(meta=True)
    def param_inline(self, meta, items):
        return _named(ast.ParamInline(str(items[0]), items[1], span=_span(meta)), items[0])

    @v_args(meta=True)
    def param_ref(self, meta, items):
        return _named(ast.ParamRef(str(items[0]), str(items[1]), _tok_span(items[1]), span=_span(meta)), items[0])

    @v_args(meta=True)
    def assign_stmt(self, meta, items):
        tied = str(items[2]) if len(items) > 2 else None
        return _named(ast.Assign(str(items[0]), items[1], tied=tied, span=_span(meta)), items[0])

    @v_args(meta=True)
    def assign_indexed(self, meta, items):
        tied = str(items[3]) if len(items) > 3 else None
        return _named(ast.Assign(str(items[0]), items[2], index=items[1], tied=tied, span=_span(meta)), items[0])

    @v_args(meta=True)
    def for_stmt(self, meta, items):
        var_tok, rest = items[0], list(items[1:])
        var = str(var_tok)
        bounds = [x for x in rest if not isinstance(x, _STMT_TYPES)]
        body = [x for x in rest if isinstance(x, _STMT_TYPES)]
        if len(bounds) == 1:  # range(stop)
            bounds = [ast.Int(0, span=bounds[0].span), bounds[0]]
        return _named(ast.For(var, bounds[0], bounds[1], body, span=_span(meta)), var_tok)

    @v_args(meta=True)
    def pick_stmt(self, meta, items):
        return _named(ast.Pick(str(items[0]), int(items[1]), list(items[2:]), span=_span(meta)), items[0])

    @v_args(meta=True)
    def return_stmt(self, meta, items):
        return ast.Return(items[0], span=_span(meta))

    # -- declarations -------------------------------------------------------------------------------------------
    @v_args(meta=True)
    def space_decl(self, meta, items):
        return _named(ast.SpaceDecl(str(items[0]), span=_span(meta)), items[0])

    @v_args(meta=True)
    def const_decl(self, meta, items):
        return _named(ast.ConstDecl(str(items[0]), items[1], span=_span(meta)), items[0])

    @v_args(meta=True)
    def init_decl(self, meta, items):
        args = items[2] if len(items) > 2 else []
        return _named(ast.InitDecl(str(items[0]), str(items[1]), args, span=_span(meta)), items[0])

    @v_args(meta=True)
    def values_decl(self, meta, items):
        return _named(ast.ValuesDecl(str(items[0]), items[1], span=_span(meta)), items[0])

    @v_args(meta=True)
    def options_decl(self, meta, items):
        name, rest = str(items[0]), list(items[1:])
        shape_vars = rest.pop(0) if rest and isinstance(rest[0], list) and all(
            isinstance(x, ast.Name) for x in rest[0]) and not (rest[0] and isinstance(rest[0][0], ast.Param)) else []
        params = rest.pop(0) if rest and isinstance(rest[0], list) else []
        in_type, out_type, options = rest[0], rest[1], rest[2:]
        return _named(ast.OptionsDecl(name, shape_vars, params, in_type, out_type, options, span=_span(meta)), items[0])

    @v_args(meta=True)
    def block_decl(self, meta, items):
        name, rest = str(items[0]), list(items[1:])
        shape_vars: list[ast.Name] = []
        if isinstance(rest[0], list) and isinstance(rest[1], list):
            shape_vars = rest.pop(0)
        params, out_type, body = rest[0], rest[1], rest[2:]
        return _named(ast.BlockDecl(name, shape_vars, params, out_type, body, span=_span(meta)), items[0])

    @v_args(meta=True)
    def network_decl(self, meta, items):
        name, params, out_type, body = str(items[0]), items[1], items[2], items[3:]
        return _named(ast.BlockDecl(name, [], params, out_type, body, is_network=True, span=_span(meta)), items[0])

    @v_args(meta=True)
    def start(self, meta, items):
        return ast.Module(list(items), span=_span(meta))


# Common mistakes mapped to friendly labels: the parser state at the error decides (as lark's `match_examples`,
# but matched on the LR state and the accepted tokens only, not on the depth of the parse stack, so that a mistake
# in the third option of a group matches an example that makes it in the first). Shapes with one and with several
# dimensions end in different LR states, hence the variants.
_EXAMPLES: dict[str, list[str]] = {
    "missing `->` between the slot's input and output shapes": [
        "network n(x: [1]) -> [1] { slot s: [1] [1] {} }", "network n(x: [1]) -> [1] { slot s: [1, 1] [1] {} }",
        "network n(x: [1]) -> [1] { slot s: [] [1] {} }"],
    "missing `->` between the input and output shapes of the option group": [
        "options O: [1] [1] {}", "options O: [1, 1] [1] {}", "options O: [] [1] {}"],
    "missing `:` after the slot name (write `slot NAME: GROUP(...)`)": ["network n(x: [1]) -> [1] { slot s GROUP }"],
    "missing `=` in an option (write `NAME = layer`)": ["options O: [1] -> [1] { a identity }"],
    "trailing comma in a list": ["network n(x: [1,]) -> [1] {}", "network n(x: [1, 1,]) -> [1] {}",
                                 "const a = f(1,)", "const a = f(1, 2,)", "network n(x: [1],) -> [1] {}",
                                 "network n(x: [1], y: [1],) -> [1] {}", "block b[H,](x: [1]) -> [1] {}"],
    "missing `->` and output shape after the parameters": ["network n(x: [1]) { return x }",
                                                            "block b(x: [1]) { return x }"],
    "unclosed `{`: a declaration is missing its closing brace": [
        "network n(x: [1]) -> [1] { return x", "options O: [1] -> [1] { a = identity",
        "options O: [1] -> [1] { a = identity\nnetwork n(x: [1]) -> [1] {}",
        "network n(x: [1]) -> [1] { return x\nnetwork m(x: [1]) -> [1] {}"],
    "unclosed `(`": ["const a = (1 + 2", "network n(x: [1]) -> [1] { y = f(x"],
    "a list of values needs at least one value": ["values V = []"],
    "a statement must be `slot`, `param`, `NAME = expr` or `return expr`": [
        "network n(x: [1]) -> [1] { x >> relu }"],
    "expected a declaration (`space`, `const`, `values`, `init`, `options`, `block` or `network`)": [
        "foo bar", "x = 1"],
}


@lru_cache(maxsize=1)
def _example_states() -> list[tuple[int, frozenset, str, str]]:
    """(LR state, accepted terminals, token type, label) of every example; LR state numbers are per process."""
    out = []
    for label, examples in _EXAMPLES.items():
        for text in examples:
            try:
                _parser().parse(text)
            except (UnexpectedToken, UnexpectedEOF) as err:
                if getattr(err, "state", None) is not None:
                    out.append((err.state.position, frozenset(err.accepts or err.expected or ()),
                                err.token.type, label))
            except UnexpectedInput:
                pass
    return out


def _friendly_label(err: UnexpectedInput) -> str | None:
    if not isinstance(err, (UnexpectedToken, UnexpectedEOF)) or getattr(err, "state", None) is None:
        return None
    accepts = frozenset(err.accepts or err.expected or ())
    matches = [(tok, label) for pos, acc, tok, label in _example_states()
               if pos == err.state.position and acc == accepts]
    for tok, label in matches:  # the same unexpected token first: `]` after `,` is a trailing comma
        if tok == err.token.type:
            return label
    # `f(1, 2 3` is not a trailing comma: that label needs the same token as its examples
    loose = [label for _, label in matches if label not in _SAME_TOKEN_ONLY]
    return loose[0] if loose else None


_SAME_TOKEN_ONLY = {"trailing comma in a list"}


def _unclosed(text: str, end: int) -> tuple[str, int, int] | None:
    """The innermost bracket opened before `end` and never closed there: (bracket, line, column), or None."""
    stack: list[tuple[str, int, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    line, col, i = 1, 1, 0
    in_comment = in_string = False
    while i < min(end, len(text)):
        ch = text[i]
        if ch == "\n":
            line, col, in_comment, in_string = line + 1, 1, False, False
            i += 1
            continue
        if in_comment:
            pass
        elif ch == '"':
            in_string = not in_string
        elif in_string:
            pass
        elif ch == "#":
            in_comment = True
        elif ch in "([{":
            stack.append((ch, line, col))
        elif ch in pairs and stack and stack[-1][0] == pairs[ch]:
            stack.pop()
        i += 1
        col += 1
    return stack[-1] if stack else None


def _syntax_diagnostic(err: UnexpectedInput, text: str) -> Diagnostic:
    label = _friendly_label(err)
    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        found = "end of file"
    elif isinstance(err, UnexpectedCharacters):
        found = f"`{text[err.pos_in_stream]}`" if err.pos_in_stream < len(text) else "end of file"
    else:
        tok = err.token
        found = f"`{tok}`" if str(tok) else tok.type
    # What the parser accepts here (lark's `accepts`), not every terminal the lexer could match at this point
    accepts = getattr(err, "accepts", None) if isinstance(err, UnexpectedToken) else None
    expected_terms = sorted(accepts or getattr(err, "expected", None) or getattr(err, "allowed", None) or [])
    # closing brackets and the separators first: when the list is cut, the likely fix must stay in it
    pretty = sorted({_pretty_terminal(t) for t in expected_terms}, key=lambda t: (_PRIORITY.get(t, 9), t))
    expected = ", ".join(pretty[:8]) + (", ..." if len(pretty) > 8 else "") if pretty else None
    if isinstance(err, UnexpectedCharacters) and err.pos_in_stream < len(text):
        # a character no token can start with: what the lexer would allow here is noise, not guidance
        ch = text[err.pos_in_stream]
        if ch == '"':
            label, expected = label or "unclosed string: a string ends with `\"` on the same line", None
        else:
            expected = None
            if not label:
                return Diagnostic("E0001", f"syntax error: unexpected character `{ch}`", Span(line, column, line,
                                  column + 1), found=f"`{ch}`",
                                  hint="comments start with `#`; names use letters, digits and `_`")
    width = 1
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        width = max(1, len(str(err.token)))
    notes: tuple[str, ...] = ()
    if label and label.startswith("unclosed"):
        pos = len(text) if found == "end of file" else getattr(err, "pos_in_stream", None)
        if pos is None and isinstance(err, UnexpectedToken):
            pos = err.token.start_pos
        opened = _unclosed(text, len(text) if pos is None else pos)
        if opened is not None:
            notes = (f"the `{opened[0]}` opened at line {opened[1]}, column {opened[2]} is never closed",)
    return Diagnostic(
        "E0001", f"syntax error: {label}" if label else "syntax error",
        Span(line, column, line, column + width), expected=expected, found=found, notes=notes,
        hint="see docs/language.md for the forms of each declaration" if not label else None)


_PRIORITY = {"`)`": 0, "`]`": 0, "`}`": 0, "`->`": 1, "`=`": 1, "`:`": 1, "`,`": 2, "end of file": 3}
_TERMINAL_NAMES = {
    "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`", "LBRACE": "`{`", "RBRACE": "`}`",
    "COMMA": "`,`", "COLON": "`:`", "EQUAL": "`=`", "NAME": "a name", "INT": "an integer", "FLOAT": "a number",
    "MINUS": "`-`", "PLUS": "`+`", "STAR": "`*`", "SLASH": "`/`", "DOT": "`.`", "VBAR": "`|`",
    "RETURN": "`return`", "SLOT": "`slot`", "PARAM": "`param`", "STRING": "a string",
}


def _pretty_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES and not name.startswith("__ANON"):
        return _TERMINAL_NAMES[name]
    try:
        pattern = _parser().get_terminal(name).pattern
        if pattern.type == "str":
            return f"`{pattern.value}`"
    except (KeyError, AttributeError):
        pass
    if name == "$END":
        return "end of file"
    return name.lower()


MAX_DEPTH = 200  # the AST is walked recursively (here and in the compiler): far below Python's recursion limit


def _too_deep(tree) -> Span | None:
    """The span of the first subtree nested deeper than MAX_DEPTH, found without recursion; None when all is fine."""
    stack = [(tree, 0, None)]
    while stack:
        node, depth, origin = stack.pop()
        if node.data in _STATEMENTS:
            origin = node
        if depth > MAX_DEPTH:  # point at the statement that holds it, not somewhere in its middle
            meta = (origin or node).meta
            return Span(meta.line, meta.column, meta.line, meta.column + 1)
        stack.extend((child, depth + 1, origin) for child in node.children if hasattr(child, "children"))
    return None


_STATEMENTS = {"const_decl", "init_decl", "values_decl", "option", "assign_stmt", "return_stmt", "slot_ref",
               "slot_inline", "param_inline", "param_ref", "options_decl", "block_decl", "network_decl"}


def parse_or_none(text: str) -> ast.Module | None:
    """`parse(text)` where it succeeds, else None (no diagnostic: a caller wanting it calls `parse`)."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput:
        return None
    if _too_deep(tree) is not None:
        return None
    try:
        return _ToAst().transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, _LiteralError):
            return None
        raise err.orig_exc from None


def parse(text: str, filename: str = "<input>") -> ast.Module:
    """Parse `.nas` text into an AST, or raise DiagnosticError with one syntax diagnostic."""
    source = Source(filename, text)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise DiagnosticError([_syntax_diagnostic(err, text)], source) from None
    deep = _too_deep(tree)
    if deep is not None:
        raise DiagnosticError([Diagnostic(
            "E0001", f"syntax error: an expression is nested more than {MAX_DEPTH} levels deep", deep,
            hint="split it into named steps (`a = x >> ...` then `b = a >> ...`)")], source)
    try:
        return _ToAst().transform(tree)
    except VisitError as err:  # a literal out of range, or a transformer bug (then keep the real cause)
        if isinstance(err.orig_exc, _LiteralError):
            raise DiagnosticError([err.orig_exc.diagnostic], source) from None
        raise err.orig_exc from None
