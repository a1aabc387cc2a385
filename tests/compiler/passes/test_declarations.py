"""The declarations pass: module + `--set` overrides in, a read-only `Declarations` environment out."""

from __future__ import annotations

import dataclasses

import pytest

from pbtnas.compiler.declarations import parse_override_value

SPACE = """
space toy
const width = 16
const wide = width * 2
const mode = nearest
values ACT = [relu, tanh]
init conv = kaiming_normal(gain=relu)
options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  skip = identity
}
block Cell[H, W](x: [width, H, W]) -> [width, H, W] {
  return x >> relu
}
network net(x: [width, 8, 8]) -> [width, 8, 8] {
  c = Cell(x=x)
  return c
}
"""


def test_hands_the_next_passes_every_declaration(passes):
    p = passes(SPACE)
    d = p.decls
    assert p.codes() == []
    assert d.space_name == "toy"
    assert d.consts == {"width": 16, "wide": 32, "mode": "nearest"}  # a constant reads the ones above it
    assert d.values == {"ACT": ["relu", "tanh"]}
    assert list(d.groups) == ["OPS"] and list(d.blocks) == ["Cell"]
    assert [n.name for n in d.networks] == ["net"]  # networks are not blocks: nothing may instantiate them
    assert d.init == {"conv": ("kaiming_normal", {"gain": "relu"})}


def test_overrides_replace_constants_and_feed_those_below(passes):
    d = passes(SPACE, width="8").decls
    assert d.consts["width"] == 8 and d.consts["wide"] == 16


def test_the_environment_is_read_only(passes):
    d = passes(SPACE).decls
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.consts = {}  # type: ignore[misc]


@pytest.mark.parametrize("raw, value", [("12", 12), ("0.5", 0.5), ("bilinear", "bilinear"), (" 3 ", 3)])
def test_override_values_are_literals(raw, value):
    assert parse_override_value(raw) == value


def test_mistakes_are_reported_and_the_rest_still_collected(passes):
    p = passes(SPACE.replace("values ACT", "const width = 4\nvalues ACT"), width="wide", depth="3")
    wrong_kind = [d for d in p.diag.items if d.code == "E0110" and "wrong type" in d.message]
    assert wrong_kind and wrong_kind[0].found == "a name" and wrong_kind[0].expected == "an integer"
    assert any(d.code == "E0110" and "`--set depth=...` names no constant" in d.message for d in p.diag.items)
    twice = p.find("E0102")
    assert "`width` is defined twice" in twice.message and twice.notes == ("first defined at line 3",)
    assert p.decls.consts["wide"] == 32  # the declared width is kept for the constants below it
    assert p.decls.values == {"ACT": ["relu", "tanh"]}


def test_a_declaration_named_like_an_op_is_refused(passes):
    p = passes(SPACE.replace("block Cell", "block conv").replace("Cell(x=x)", "conv(x=x)"))
    assert "`conv` is the name of a built-in op" in p.find("E0102").message
    assert "conv" not in p.decls.blocks
