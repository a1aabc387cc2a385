"""The `.nas` language server (`pbtnas lsp`, `python -m pbtnas.lsp`): the compiler's diagnostics as you type,
hover, go to definition, references, completion, the outline and formatting, over stdio (docs/lsp.md)."""

from __future__ import annotations

__all__ = ["serve_stdio"]


def serve_stdio() -> None:
    """Serve one editor over stdin/stdout until it sends `exit` or closes the pipe."""
    import logging
    import sys

    from pbtnas.lsp.server import create_server  # pygls and the compiler load only when the server starts

    # stdout carries the protocol: anything logged goes to stderr, which editors show in their server log
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="pbtnas-lsp %(levelname)s: %(message)s")
    create_server().start_io()
