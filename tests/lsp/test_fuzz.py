"""The server under fuzzed documents: the language campaign's hypothesis strategies (tests/reliability) and random
deletions and insertions in spaces/*.nas, each sent as an edit followed by hover, definition, references,
completion and outline requests at a drawn position. Every request gets a response or a well-formed JSON-RPC
error, every version gets its diagnostics, and the server stays up. Bounded to a few seconds."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from lsp_support import ROOT

sys.path.insert(0, str(ROOT / "tests" / "dsl"))
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from nas_fuzz import ALL, fast  # noqa: E402
from test_fuzz_language import STRATEGIES  # noqa: E402

from pbtnas.lsp.client import ResponseError, StdioClient  # noqa: E402

EXAMPLES = 30
URI = (ROOT / "spaces" / "fuzzed.nas").as_uri()


@st.composite
def random_edits(draw) -> str:
    text = ALL[draw(st.sampled_from(sorted(ALL)))]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        else:
            text = text[:at] + draw(st.sampled_from(["(", "]", "}", "{", " >> ", "\n", "slot ", " in [", "x", "#",
                                                     "=", "12", "network n(x: [1]) -> [1] {"])) + text[at:]
    return text


DOCUMENTS = st.one_of(random_edits(), *STRATEGIES.values())
_version = [1]


def _answered(server: StdioClient, method: str, params: dict) -> None:
    try:
        server.request(method, params, timeout=30)
    except ResponseError as err:  # a well-formed error is an answer
        assert isinstance(err.error.get("code"), int) and isinstance(err.error.get("message"), str)


@fast(EXAMPLES)
@given(text=DOCUMENTS, where=st.floats(0, 1), column=st.integers(0, 40))
def _one_document(server: StdioClient, text: str, where: float, column: int) -> None:
    _version[0] += 1
    version = _version[0]
    server.change(URI, version, [{"text": text}])
    lines = text.split("\n")
    position = {"line": int(where * (len(lines) - 1)), "character": column}
    doc = {"textDocument": {"uri": URI}}
    _answered(server, "textDocument/hover", {**doc, "position": position})
    _answered(server, "textDocument/definition", {**doc, "position": position})
    _answered(server, "textDocument/references", {**doc, "position": position, "context": {"includeDeclaration": True}})
    _answered(server, "textDocument/completion", {**doc, "position": position})
    _answered(server, "textDocument/documentSymbol", doc)
    diagnostics, _, _ = server.diagnostics(URI, version)
    assert all(d["code"] and d["message"] for d in diagnostics)
    assert server.alive


def test_fuzzed_documents_never_take_the_server_down(server: StdioClient) -> None:
    server.open(URI, ALL["ganhard"], version=1)
    server.diagnostics(URI, 1)
    _one_document(server)
    assert server.alive
    assert not any(b"Traceback" in chunk for chunk in server.stderr), b"".join(server.stderr)[-3000:]
