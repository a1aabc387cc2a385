"""What the compiler keeps for editors: where each declared name is written (`name_span`) and every node's value
per instance (`Program.nodes`), without the schema hash depending on either."""

from __future__ import annotations

from pathlib import Path

from pbtnas.compiler.elaborate import Elaborator
from pbtnas.compiler.space import _ast_fingerprint
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Collector, Span
from pbtnas.dsl.parser import parse
from pbtnas.layers.dims import shape_str

GANHARD = Path(__file__).resolve().parents[2] / "spaces" / "ganhard.nas"


def _named(module: ast.Module, name: str):
    return next(d for d in module.decls if getattr(d, "name", None) == name)


def test_name_spans_point_at_the_names() -> None:
    text = "const  width = 8\nblock B(x: [width]) -> [width] {\n  slot   s: [width] -> [width] { a = identity }\n" \
           "  y = x >> s\n  return y\n}\n"
    module = parse(text)
    lines = text.splitlines()

    def written(span: Span) -> str:
        assert span.line == span.end_line
        return lines[span.line - 1][span.column - 1:span.end_column - 1]

    const, block = module.decls
    assert written(const.name_span) == "width" and const.name_span.column == 8
    assert written(block.name_span) == "B"
    assert written(block.params[0].name_span) == "x"
    slot, assign, _ = block.body
    assert written(slot.name_span) == "s" and slot.name_span.column == 10
    assert written(slot.options[0].name_span) == "a"
    assert written(assign.name_span) == "y"


def test_schema_fingerprint_ignores_where_names_are_written() -> None:
    text = GANHARD.read_text()
    shifted = "\n\n" + text.replace("space ganhard", "space   ganhard").replace("const gf_dim", "const    gf_dim")
    assert _ast_fingerprint(parse(text)) == _ast_fingerprint(parse(shifted))


def test_program_keeps_each_node_value_per_instance() -> None:
    module = parse(GANHARD.read_text(), str(GANHARD))
    program = Elaborator(module, {}, Collector()).run()
    gencell = _named(module, "GenCell")
    n3 = next(s for s in gencell.body if isinstance(s, ast.Assign) and s.name == "n3")
    per_instance = {prefix: value for span, prefix, value in program.nodes if span == n3.span}
    assert set(per_instance) == {"generator.cell1", "generator.cell2", "generator.cell3"}
    # gf_dim = 256, bottom_width = 4: cell i doubles 4 * 2^(i-1)
    assert [shape_str(s) for s in per_instance["generator.cell2"].shapes] == ["[256, 16, 16]"]
    disblock = _named(module, "DisBlock")
    a = next(s for s in disblock.body if isinstance(s, ast.Assign) and s.name == "a")
    value = next(v for span, prefix, v in program.nodes if span == a.span and prefix == "discriminator.block2")
    assert value.maybe_absent and len(value.shapes) == 2  # block 2 has `none` edges: absent when n1 is
