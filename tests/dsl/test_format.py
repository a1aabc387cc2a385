"""`pbtnas fmt`: the canonical layout (docs/format.md), its invariants on the real spaces, and the command's exit
codes and output. The round trip on generated files is tests/dsl/test_format_fuzz.py."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pbtnas.compiler import compile_text
from pbtnas.dsl.diagnostics import DiagnosticError
from pbtnas.dsl.format import LINE_LIMIT, format_source, run_fmt
from pbtnas.errors import EXIT_USER

SPACES = Path(__file__).resolve().parents[2] / "spaces"
SPACE_FILES = sorted(SPACES.glob("*.nas"))

MESSY = """\
# header


space   messy   # on space
const C=4 # c
const H = ( 3+4 )*2//1
values V=[a,b,c,]
init conv=xavier_uniform( gain = 1 )
options O[H,W](C):[C,H,W]->[C,H,W]{ a=identity, bb = conv(C,k=3,pad=1)>>relu,
   # own line in group
   ccc=none }
options E: [1] -> [1] {}
block B[H](x:[C,H,W], y: [C,H,W]?, k: options, n) -> [C,H,W] | [C, H // 2, W//2] {

  slot s:O(C)   tied t
  param p : [ 1 , 2 , -3, ]
  z = x >>
      s >> relu    # after
  # before return


  return z ?? y if p==1 else -z
}
"""

MESSY_FORMATTED = """\
# header

space messy     # on space
const C = 4  # c
const H = (3 + 4) * 2 // 1
values V = [a, b, c]
init conv = xavier_uniform(gain=1)
options O[H, W](C): [C, H, W] -> [C, H, W] {
  a   = identity
  bb  = conv(C, k=3, pad=1) >> relu
  # own line in group
  ccc = none
}
options E: [1] -> [1] {}
block B[H](x: [C, H, W], y: [C, H, W]?, k: options, n) -> [C, H, W] | [C, H // 2, W // 2] {
  slot s: O(C) tied t
  param p: [1, 2, -3]
  z = x
      >> s >> relu  # after
  # before return

  return z ?? y if p == 1 else -z
}
"""


def test_the_canonical_layout_of_a_messy_file():
    # spaces around operators, none inside brackets or around a keyword argument's `=`; option names aligned, one
    # option a line, optional commas dropped; blank lines at most one and none after `{`; comments where they were
    assert format_source(MESSY) == MESSY_FORMATTED
    assert format_source(MESSY_FORMATTED) == MESSY_FORMATTED


def test_unary_minus_attributes_strings_conditions_and_picks():
    src = ('network n(x: [4]) -> [4] {\n  param g: [off,on]\n  pick p : 1 of [ x , y ]\n'
           '  y = x>>scale(mul = - 1, add=-0.5)>>relu if not g and p[0] in [x] else x\n  return p[0]\n}\n')
    assert format_source(src) == (
        'network n(x: [4]) -> [4] {\n  param g: [off, on]\n  pick p: 1 of [x, y]\n'
        '  y = x >> scale(mul=-1, add=-0.5) >> relu if not g and p[0] in [x] else x\n  return p[0]\n}\n')


def test_a_long_pipe_breaks_before_its_operators_under_the_expression():
    ops = " >> ".join(f"conv(C, k=3, pad={i})" for i in range(8))
    out = format_source(f"network n(x: [3, 8, 8]) -> [3, 8, 8] {{\n  long_name = x >> {ops}\n  return long_name\n}}\n")
    lines = out.split("\n")[1:-3]
    assert len(lines) == 2 and all(len(line) <= LINE_LIMIT for line in lines)
    assert lines[1].startswith(" " * len("  long_name = ") + ">> conv(")  # aligned under `x`
    # greedy: the first line holds as many steps as fit
    assert lines[0].endswith("conv(C, k=3, pad=3)") and len(lines[0] + " >> conv(C, k=3, pad=4)") > LINE_LIMIT


def test_a_long_call_breaks_after_its_commas_aligned_inside_the_bracket():
    args = ", ".join(f"argument_{i}=v{i}" for i in range(12))
    out = format_source(f"const c = f({args})\n")
    first, second = out.split("\n")[:2]
    assert first.startswith("const c = f(argument_0=v0, ") and first.endswith(",") and len(first) <= LINE_LIMIT
    assert second.startswith(" " * len("const c = f(") + "argument_")


def test_the_outermost_break_comes_first():
    # `tied` is the loosest break of a statement (continued two columns in), then the commas of the call
    args = ", ".join(f"x{i}=stem if i in [0, 1] else c[i - {i}]" for i in range(4))
    out = format_source(f"network n(x: [1]) -> [1] {{\n  c[0] = Cell({args}) tied cell\n  return x\n}}\n")
    lines = out.split("\n")
    assert lines[1].startswith("  c[0] = Cell(x0=") and lines[-4] == "    tied cell"
    assert all(len(line) <= LINE_LIMIT for line in lines)


def test_line_breaks_the_author_put_are_kept_and_moved_before_the_operator():
    src = "const a = 1 +\n  2 + 3\nconst b = f(1,\n 2)\nconst c = f(\n1)\nvalues V = [a, b,\n]\n"
    assert format_source(src) == ("const a = 1\n          + 2 + 3\nconst b = f(1,\n            2)\nconst c = f(1)\n"
                                  "values V = [a, b]\n")


def test_comments_are_kept_in_place_even_where_a_line_cannot_break():
    src = "const c = f( # why\n  1)   # and\n# own\nconst d = 1\n"
    out = format_source(src)
    assert out == "const c = f(  # why\n            1)  # and\n# own\nconst d = 1\n"
    assert format_source(out) == out


def test_a_trailing_comment_keeps_its_column_and_moves_left_past_the_limit():
    src = "const a = 1          # aligned\nconst bb = 22        # aligned\n"
    assert format_source(src) == src
    far = "const a = 1" + " " * 100 + "# a comment that would end past the limit\n"
    out = format_source(far)
    assert len(out.rstrip("\n")) == LINE_LIMIT and out.startswith("const a = 1   ")


def test_a_hash_in_a_string_is_not_a_comment_and_crlf_becomes_lf():
    src = 'init conv = normal(gain="#x")\r\n# c\r\n'
    assert format_source(src) == 'init conv = normal(gain="#x")\n# c\n'


def test_empty_and_comment_only_files():
    assert format_source("") == ""
    assert format_source("\n\n  \n") == ""
    assert format_source("  # only\n\n\n# comments  \n") == "# only\n\n# comments\n"


def test_text_that_does_not_parse_raises_the_parsers_diagnostic():
    with pytest.raises(DiagnosticError) as err:
        format_source("options O: [1] [1] {}", "bad.nas")
    assert err.value.diagnostics[0].code == "E0001" and "missing `->`" in err.value.diagnostics[0].message
    assert "bad.nas:1:" in str(err.value)


def _relaid(line: str) -> str:
    """The line with other whitespace: no indentation, `=` at the end of a line, spaces before commas, none around
    `>>`. Lines with a comment are kept (a trailing comment keeps its column, which this would move)."""
    if "#" in line:
        return line
    return line.lstrip().replace(" = ", "  =\n  ").replace(", ", " ,").replace(" >> ", ">>")


@pytest.mark.parametrize("path", SPACE_FILES, ids=lambda p: p.stem)
def test_every_space_is_formatted_and_keeps_its_schema_and_artifact(path: Path):
    text = path.read_text()
    assert format_source(text, str(path)) == text, f"{path.name} is not formatted: run `pbtnas fmt {path}`"
    # The artifact carries no source positions (no line or column): after any re-layout it must be identical.
    relaid = "\n".join(_relaid(line) for line in text.split("\n"))
    assert relaid != text and format_source(relaid) == text
    original = compile_text(text, str(path))
    again = compile_text(relaid, str(path))
    assert again.schema_hash == original.schema_hash
    assert again.artifact == original.artifact


# -- run_fmt: the command ------------------------------------------------------------------------------------------

UGLY = "const a=1\n"
PRETTY = "const a = 1\n"


def _run(paths: list[Path], **kw) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_fmt(paths, out=out, err=err, **kw)
    return code, out.getvalue(), err.getvalue()


def test_fmt_rewrites_the_files_that_change_and_leaves_the_others(tmp_path: Path):
    ugly, pretty = tmp_path / "u.nas", tmp_path / "p.nas"
    ugly.write_text(UGLY)
    pretty.write_text(PRETTY)
    before = pretty.stat().st_mtime_ns
    code, out, err = _run([ugly, pretty])
    assert code == 0 and out == "" and ugly.read_text() == PRETTY
    assert f"reformatted {ugly}" in err and "1 file reformatted, 1 left unchanged" in err
    assert pretty.stat().st_mtime_ns == before
    assert _run([ugly, pretty])[0] == 0  # nothing left to do


def test_fmt_check_exits_1_when_a_file_would_change_and_writes_nothing(tmp_path: Path):
    ugly = tmp_path / "u.nas"
    ugly.write_text(UGLY)
    code, out, err = _run([ugly], check=True)
    assert code == 1 and ugly.read_text() == UGLY and f"would reformat {ugly}" in err and out == ""
    ugly.write_text(PRETTY)
    assert _run([ugly], check=True)[0] == 0


def test_fmt_diff_prints_the_change_and_writes_nothing(tmp_path: Path):
    ugly = tmp_path / "u.nas"
    ugly.write_text(UGLY)
    code, out, _ = _run([ugly], diff=True)
    assert code == 0 and ugly.read_text() == UGLY
    assert "-const a=1\n" in out and "+const a = 1\n" in out and f"--- {ugly} (original)" in out
    assert _run([ugly], diff=True, check=True)[0] == 1


def test_fmt_crlf_line_ends_are_a_change(tmp_path: Path):
    f = tmp_path / "crlf.nas"
    f.write_bytes(b"const a = 1\r\n")
    assert _run([f], check=True)[0] == 1
    assert _run([f])[0] == 0 and f.read_bytes() == b"const a = 1\n"


def test_fmt_a_directory_means_its_nas_files(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.nas").write_text(UGLY)
    (tmp_path / "notes.txt").write_text(UGLY)
    code, _, err = _run([tmp_path], check=True)
    assert code == 1 and "a.nas" in err and "notes.txt" not in err


def test_fmt_a_file_that_does_not_parse_or_exist_is_a_user_error_and_the_others_are_formatted(tmp_path: Path):
    bad, ugly, missing = tmp_path / "bad.nas", tmp_path / "u.nas", tmp_path / "missing.nas"
    bad.write_text("const a = (1 + 2\n")
    ugly.write_text(UGLY)
    code, _, err = _run([bad, missing, ugly])
    assert code == EXIT_USER and code not in (0, 1)
    assert f"{bad}:" in err and "E0001" in err and "unclosed `(`" in err and "Traceback" not in err
    assert "E0002" in err and "no such file" in err and str(missing) in err
    assert ugly.read_text() == PRETTY and bad.read_text() == "const a = (1 + 2\n"
    assert "could not be formatted" in err
    assert _run([bad], check=True)[0] == EXIT_USER  # an error wins over "would change"


def test_the_example_of_docs_format_md_is_what_the_formatter_does():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "format.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", doc, re.S)
    before, after = blocks[-2], blocks[-1]
    assert format_source(before) == after


def test_a_comment_after_an_operator_keeps_the_operator_on_its_line():
    src = "network n(x: [1]) -> [1] {\n  y = x >> # why\n  # more\n    relu\n  return y\n}\n"
    out = format_source(src)
    assert out == "network n(x: [1]) -> [1] {\n  y = x >>  # why\n      # more\n      relu\n  return y\n}\n"
    assert format_source(out) == out


def test_the_formatter_needs_no_torch():
    # an editor formats on every save: importing the formatter must stay instant
    code = "import sys, pbtnas.dsl.format; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2]).returncode == 0
