"""A language server in a subprocess, driven over stdio as an editor drives it (pbtnas.lsp.client)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lsp_support import ROOT

from pbtnas.lsp.client import StdioClient


@pytest.fixture(scope="module")
def server() -> Iterator[StdioClient]:
    client = StdioClient(cwd=ROOT)  # cwd: `python -m pbtnas.lsp` imports this checkout's pbtnas
    client.initialize(ROOT)
    try:
        yield client
    finally:
        code = client.close()
        assert code == 0, b"".join(client.stderr).decode(errors="replace")[-2000:]
