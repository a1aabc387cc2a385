"""The server over the protocol, as an editor uses it: open ganhard.nas, hover, jump, find references, complete,
outline, introduce mistakes and receive the compiler's diagnostics, and keep working through a syntax error."""

from __future__ import annotations

import itertools

import pytest
from lsp_support import GANHARD, line_of, position

from pbtnas.lsp.client import ResponseError, StdioClient

_uris = itertools.count()


def _open(server: StdioClient, text: str) -> tuple[str, list]:
    """Open `text` under a fresh URI (next to ganhard.nas) and return its first diagnostics."""
    uri = GANHARD.with_name(f"edited{next(_uris)}.nas").as_uri()
    server.open(uri, text)
    diagnostics, _, _ = server.diagnostics(uri, 1)
    return uri, diagnostics


def _at(server: StdioClient, method: str, uri: str, pos: dict, **extra):
    return server.request(method, {"textDocument": {"uri": uri}, "position": pos, **extra})


def _replace(server: StdioClient, uri: str, version: int, text: str, old: str, new: str) -> tuple[str, list]:
    start = position(text, old)
    end = {"line": start["line"], "character": start["character"] + len(old)}
    server.change(uri, version, [{"range": {"start": start, "end": end}, "text": new}])
    diagnostics, _, _ = server.diagnostics(uri, version)
    return text.replace(old, new, 1), diagnostics


def test_ganhard_opens_clean_and_hover_shows_a_nodes_guarded_shapes(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, diagnostics = _open(server, text)
    assert diagnostics == []
    hover = _at(server, "textDocument/hover", uri, position(text, "  a = sum(", 2))
    value = hover["contents"]["value"]
    # block 1 at 32x32: the branch is downsampled to 16x16 only when its gene says so
    assert "`discriminator.block1`" in value
    assert "`[128, 16, 16]` when down0 in [avg_pool_input, max_pool_input] and downsample = on" in value
    assert "`[128, 32, 32]` when downsample = off" in value
    assert "absent when c1 = none" in value  # block 2's edges can be `none`
    assert hover["range"]["start"] == position(text, "  a = sum(", 2)


def test_hover_on_genes_groups_ops_and_constants(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    gene = _at(server, "textDocument/hover", uri, position(text, "slot down1", 5))["contents"]["value"]
    assert "8 options: `avg_pool_input`" in gene and "#41 `discriminator.block1.down1`" in gene
    assert "#71 `discriminator.block4.down1`" in gene
    group = _at(server, "textDocument/hover", uri, position(text, "slot c3: EDGE", 9))["contents"]["value"]
    assert "options EDGE[H, W]: [df_dim, H, W] -> [df_dim, H, W]" in group and "7 options" in group
    op = _at(server, "textDocument/hover", uri, position(text, "resize(", 1))["contents"]["value"]
    assert "resize(h, w, mode=nearest)" in op
    const = _at(server, "textDocument/hover", uri, position(text, "bottom_width * 8", 1))["contents"]["value"]
    assert "value: `4`" in const


def test_definition_and_references(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    target = _at(server, "textDocument/definition", uri, position(text, "slot down0: DOWN8", 13))
    assert target == [{"uri": uri, "range": {"start": position(text, "DOWN8[H, W]"),
                                             "end": position(text, "DOWN8[H, W]", 5)}}]
    # an option named in a condition jumps to the option in its group
    option = _at(server, "textDocument/definition", uri, position(text, "in [avg_pool_input", 5))
    assert option[0]["range"]["start"] == position(text, "avg_pool_input = ")
    # `cell1.skip` is the node `skip` of the block GenCell
    skip = _at(server, "textDocument/definition", uri, position(text, "cell1.skip", 7))
    assert skip[0]["range"]["start"] == position(text, "  skip = sum", 2)
    refs = _at(server, "textDocument/references", uri, position(text, "DOWN8[H, W]"),
               context={"includeDeclaration": False})
    assert sorted(r["range"]["start"]["line"] for r in refs) == [line_of(text, "slot down0: DOWN8"),
                                                                line_of(text, "slot down1: DOWN8")]


def test_an_error_is_the_compilers_diagnostic_with_code_range_and_hint(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    text, diagnostics = _replace(server, uri, 2, text, "slot down0: DOWN8", "slot down0: DOWN9")
    first = diagnostics[0]
    assert first["code"] == "E0101" and first["severity"] == 1 and first["source"] == "pbtnas"
    assert first["range"]["start"] == position(text, "DOWN9")
    assert first["range"]["end"] == position(text, "DOWN9", 5)
    assert first["message"].startswith("undefined option group `DOWN9`") and "hint: did you mean `DOWN8`?" in \
        first["message"]
    # a warning stays a warning
    text, diagnostics = _replace(server, uri, 3, text, "slot down0: DOWN9", "slot down0: DOWN8\n  param unused: [a, b]")
    # one per instance of the block, each a warning on the param's line
    assert [(d["code"], d["severity"]) for d in diagnostics] == [("W0301", 2)] * 4
    assert {d["range"]["start"]["line"] for d in diagnostics} == {line_of(text, "param unused")}
    assert "gene `discriminator.block1.unused` is declared but never used" in diagnostics[0]["message"]


def test_a_syntax_error_keeps_hover_completion_and_outline(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    broken, diagnostics = _replace(server, uri, 2, text, "  n1 = x >> c1\n", "  n1 = x >> (c1\n")
    assert [d["code"] for d in diagnostics] == ["E0001"]
    # the generator, above the broken block, is unchanged: hover and jumps work there
    hover = _at(server, "textDocument/hover", uri, position(broken, "skip = sum(n2", 1))
    assert "`[256, 16, 16]`" in hover["contents"]["value"]
    # inside the broken block, completion still knows the block's genes and their options
    line = line_of(broken, "  n1 = x >> (c1")
    items = server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": 14}})["items"]
    assert {"c0", "down0", "conv"} <= {i["label"] for i in items}
    outline = server.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert {"generator", "discriminator", "GenCell"} <= {s["name"] for s in outline}


def test_completion_of_options_groups_and_ops(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    typed, _ = _replace(server, uri, 2, text, "  a5 = a >> c5 ?? a\n", "  a5 = a >> c5 ?? a\n  t = a if down0 in [\n")
    end_of = position(typed, "if down0 in [", len("if down0 in ["))
    items = server.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": end_of})["items"]
    assert [i["label"] for i in sorted(items, key=lambda i: i["sortText"])][:3] == \
        ["avg_pool_input", "max_pool_input", "avg_pool"]
    typed, _ = _replace(server, uri, 3, typed, "  t = a if down0 in [\n", "  slot extra: \n")
    items = server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": position(typed, "slot extra: ", 12)})["items"]
    assert {"EDGE", "DOWN8", "entry"} <= {i["label"] for i in items} and "conv" not in {i["label"] for i in items}
    typed, _ = _replace(server, uri, 4, typed, "  slot extra: \n", "  t = a >> co\n")
    items = server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": position(typed, "a >> co", 7)})["items"]
    conv = next(i for i in items if i["label"] == "conv")
    assert conv["detail"].startswith("conv(out, k=") and conv["insertText"] == "conv(${1:out})"
    assert {"df_dim", "DisBlock", "sum"} <= {i["label"] for i in items}


def test_document_symbols_outline(server: StdioClient) -> None:
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    outline = server.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    by_name = {s["name"]: s for s in outline}
    assert by_name["gf_dim"]["selectionRange"]["start"] == position(text, "gf_dim = 256")
    down8 = by_name["DOWN8"]
    assert [c["name"] for c in down8["children"]][:2] == ["avg_pool_input", "max_pool_input"]
    assert "downsample" in [c["name"] for c in by_name["DisBlock"]["children"]]


def test_formatting_through_pbtnas_fmt(server: StdioClient) -> None:
    fmt = pytest.importorskip("pbtnas.dsl.format")
    text = GANHARD.read_text().replace("const df_dim = 128", "const   df_dim=128")
    uri, _ = _open(server, text)
    edits = server.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                       "options": {"tabSize": 2, "insertSpaces": True}})
    assert len(edits) == 1 and edits[0]["newText"] == fmt.format_source(text)
    assert edits[0]["range"]["start"] == {"line": 0, "character": 0}


def test_bad_requests_get_well_formed_errors_and_the_server_stays_up(server: StdioClient) -> None:
    with pytest.raises(ResponseError) as err:
        server.request("textDocument/hover", {"textDocument": {"uri": 3}, "position": "nowhere"})
    assert isinstance(err.value.error["code"], int) and err.value.error["message"]
    text = GANHARD.read_text()
    uri, _ = _open(server, text)
    beyond = _at(server, "textDocument/hover", uri, {"line": 10_000, "character": 500})
    assert beyond is None
    assert server.alive
