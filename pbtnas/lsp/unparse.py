"""AST -> the text a person reads in a hover: expressions, conditions, shapes and parameters written back in the
language's own syntax (not the source slice: that may span lines and hold comments)."""

from __future__ import annotations

from pbtnas.dsl import ast

_TEXT = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "pow": "**", "pipe": ">>",
         "otherwise": "??"}
# Binding strength, loosest first, as in grammars/nas.lark: conditional, `??`, `+ -`, `>>`, `* / // %`, `**`.
_LEVEL = {"otherwise": 1, "add": 2, "sub": 2, "pipe": 3, "mul": 4, "div": 4, "floordiv": 4, "mod": 4, "pow": 5}


def _level(e: ast.Expr) -> int:
    if isinstance(e, (ast.When, ast.IfElse)):
        return 0
    if isinstance(e, ast.BinOp):
        return _LEVEL[e.op]
    if isinstance(e, ast.Neg):
        return 6
    return 7


def expr(e: ast.Expr) -> str:
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, (ast.Int, ast.Float)):
        return str(e.value)
    if isinstance(e, ast.Str):
        return f'"{e.value}"'
    if isinstance(e, ast.Call):
        return f"{e.fn}({', '.join(arg(a) for a in e.args)})"
    if isinstance(e, ast.Attr):
        return f"{_wrap(e.obj, 7)}.{e.name}"
    if isinstance(e, ast.Index):
        return f"{e.base}[{expr(e.index)}]"
    if isinstance(e, ast.BinOp):
        level = _LEVEL[e.op]
        # `**` groups to the right, the others to the left: the other side needs parentheses at the same level
        left_min, right_min = (level + 1, level) if e.op == "pow" else (level, level + 1)
        return f"{_wrap(e.left, left_min)} {_TEXT[e.op]} {_wrap(e.right, right_min)}"
    if isinstance(e, ast.Neg):
        return f"-{_wrap(e.operand, 6)}"
    if isinstance(e, ast.When):
        return f"{_wrap(e.expr, 1)} if {cond(e.cond)}"
    if isinstance(e, ast.IfElse):
        return f"{_wrap(e.expr, 1)} if {cond(e.cond)} else {expr(e.other)}"
    if isinstance(e, ast.TupleExpr):
        return f"({', '.join(expr(i) for i in e.items)})"
    if isinstance(e, ast.ListExpr):
        return f"[{', '.join(expr(i) for i in e.items)}]"
    return "?"


def _wrap(e: ast.Expr, minimum: int) -> str:
    text = expr(e)
    return f"({text})" if _level(e) < minimum else text


def arg(a: ast.Arg) -> str:
    return f"{a.name}={expr(a.value)}" if a.name else expr(a.value)


def cond(c: ast.Cond) -> str:
    if isinstance(c, ast.CondName):
        return c.name
    if isinstance(c, ast.CondIn):
        target = f"{c.name}[{expr(c.index)}]" if c.index is not None else c.name
        return f"{target} in [{', '.join(expr(v) for v in c.values)}]"
    if isinstance(c, ast.CondEq):
        return f"{c.name} {'!=' if c.negate else '=='} {expr(c.value)}"
    if isinstance(c, ast.CondNot):
        inner = cond(c.operand)
        return f"not ({inner})" if isinstance(c.operand, ast.CondBool) else f"not {inner}"
    if isinstance(c, ast.CondBool):
        def side(x: ast.Cond) -> str:  # `or` inside `and` needs its parentheses back
            text = cond(x)
            return f"({text})" if c.op == "and" and isinstance(x, ast.CondBool) and x.op == "or" else text
        return f"{side(c.left)} {c.op} {side(c.right)}"
    return "?"


def shape(t: ast.ShapeType | ast.UnionType | ast.TupleType) -> str:
    if isinstance(t, ast.ShapeType):
        return f"[{', '.join(expr(d) for d in t.dims)}]"
    if isinstance(t, ast.UnionType):
        return " | ".join(shape(a) for a in t.alternatives)
    return f"({', '.join(shape(i) for i in t.items)})"


def param(p: ast.Param) -> str:
    if p.kind == "tensor" and p.shape is not None:
        return f"{p.name}: {shape(p.shape)}{'?' if p.optional else ''}"
    return f"{p.name}: options" if p.kind == "options" else p.name


def header(d: ast.OptionsDecl | ast.BlockDecl) -> str:
    """`options UP3[H, W](C): [C, H, W] -> [C, 2 * H, 2 * W]`, `block GenCell[H, W](x: [...]) -> [...]`."""
    svars = f"[{', '.join(v.id for v in d.shape_vars)}]" if d.shape_vars else ""
    params = ", ".join(param(p) for p in d.params)
    if isinstance(d, ast.OptionsDecl):
        return f"options {d.name}{svars}{f'({params})' if d.params else ''}: {shape(d.in_type)} -> {shape(d.out_type)}"
    keyword = "network" if d.is_network else "block"
    return f"{keyword} {d.name}{svars}({params}) -> {shape(d.out_type)}"
