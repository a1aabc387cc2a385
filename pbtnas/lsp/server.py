"""The language server: pygls over stdio, one analysis per document version, handlers in their own modules.

Every change is analysed on one worker thread (the compiler runs one analysis at a time and the event loop stays
free to answer requests). Changes that arrive while an analysis runs are not queued one by one: when it ends, the
newest text is analysed next, so a fast typist waits for at most one stale analysis, and diagnostics are published
only for the version the editor shows. Requests that depend on positions (hover, definition, references, symbols)
wait for the current version's analysis; completion answers at once from the newest analysis there is.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from lsprotocol import types as lsp
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from pbtnas.lsp import formatting
from pbtnas.lsp.analysis import Analysis, analyse
from pbtnas.lsp.completion import complete
from pbtnas.lsp.convert import Positions, to_lsp_diagnostic
from pbtnas.lsp.hover import hover_text
from pbtnas.dsl.diagnostics import Span
from pbtnas.lsp.index import Index, Occurrence
from pbtnas.lsp.linemap import LineMap
from pbtnas.lsp.symbols import document_symbols

log = logging.getLogger(__name__)
VERSION = "0.1.0"
WAIT_S = 5.0  # a request waits this long for its version's analysis, then answers from the newest one


@dataclass
class DocumentState:
    latest: Analysis | None = None  # of the newest version analysed
    parsed: Analysis | None = None  # the newest that parsed: completion's fallback inside a broken declaration
    task: asyncio.Task | None = None
    closed: bool = False


class _Protocol(LanguageServerProtocol):
    """pygls logs a request whose params do not deserialise and drops it; the client would wait forever. Answer it
    with the JSON-RPC error instead (invalid params, or internal error)."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as err:
            if "id" in data and "method" in data:
                self._send_response(data["id"], error=err.to_response_error())
            raise


class NasLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("pbtnas", VERSION, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=_Protocol)
        self.analyser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pbtnas-analysis")
        self.documents: dict[str, DocumentState] = {}

    # -- analysis --------------------------------------------------------------------------------------------------
    def schedule(self, uri: str) -> None:
        state = self.documents.setdefault(uri, DocumentState())
        state.closed = False
        if state.task is None or state.task.done():
            state.task = asyncio.get_running_loop().create_task(self._analyse(uri, state))

    async def _analyse(self, uri: str, state: DocumentState) -> None:
        loop = asyncio.get_running_loop()
        while not state.closed:
            doc = self.workspace.get_text_document(uri)
            text, version = doc.source, doc.version
            units = doc.position_codec.client_num_units
            try:
                analysis, diagnostics = await loop.run_in_executor(self.analyser, _diagnose, text, uri, version, units)
            except Exception:  # noqa: BLE001 - logged; the server keeps serving the other requests
                log.exception("analysis of %s failed", uri)
                return
            state.latest = analysis
            if analysis.parsed:
                state.parsed = analysis
            now = self.workspace.get_text_document(uri)
            if state.closed:
                return
            if now.version == version and now.source == text:
                self.text_document_publish_diagnostics(
                    lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))
                return
            # the text changed while it ran: analyse the newest version before publishing anything

    async def current(self, uri: str) -> Analysis | None:
        """The analysis of the version the editor shows (or the newest one after WAIT_S)."""
        state = self.documents.get(uri)
        if state is None:
            self.schedule(uri)  # a request on a document the client never opened: read it from disk
            state = self.documents[uri]
        if state.task is not None and not state.task.done():
            try:
                await asyncio.wait_for(asyncio.shield(state.task), WAIT_S)
            except asyncio.TimeoutError:
                pass
        return state.latest

    async def index(self, uri: str) -> tuple[Index, Positions] | None:
        analysis = await self.current(uri)
        if analysis is None:
            return None
        # the index of a text with a syntax error re-parses it: on the worker, not on the event loop
        index = await asyncio.get_running_loop().run_in_executor(self.analyser, analysis.index)
        units = self.workspace.get_text_document(uri).position_codec.client_num_units
        return index, Positions(analysis.text, units)


@dataclass
class Lookup:
    """The name at a request's position, in the index that knows it, and how that index's spans map to the text
    the editor shows (identity, or through a LineMap for the last version that parsed)."""

    index: Index
    occurrence: Occurrence | None
    positions: Positions
    to_current: Callable[[Span | None], Span | None]

    def range(self, span: Span | None) -> lsp.Range | None:
        current = self.to_current(span)
        return self.positions.to_range(current) if current is not None else None


async def lookup(ls: "NasLanguageServer", uri: str, position: lsp.Position) -> Lookup | None:
    found = await ls.index(uri)
    if found is None:
        return None
    index, positions = found
    line, column = positions.from_position(position)
    result = Lookup(index, index.at(line, column), positions, lambda span: span)
    state = ls.documents.get(uri)
    parsed = state.parsed if state is not None else None
    if result.occurrence is None and index.decl_at(line) is None and parsed is not None \
            and parsed.text != positions.text:
        # the cursor's declaration does not parse now: the last version that parsed, at the unchanged lines
        old = await asyncio.get_running_loop().run_in_executor(ls.analyser, parsed.index)
        lines = LineMap(parsed.text, positions.text)
        old_line = lines.to_old.get(line)
        if old_line is not None:
            result = Lookup(old, old.at(old_line, column), positions, lines.span_to_new)
    return result


def _diagnose(text: str, uri: str, version: int | None, units) -> tuple[Analysis, list[lsp.Diagnostic]]:
    analysis = analyse(text, to_fs_path(uri) or uri, version)
    positions = Positions(text, units)
    return analysis, [to_lsp_diagnostic(positions, d) for d in analysis.diagnostics]


def create_server() -> NasLanguageServer:
    server = NasLanguageServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NasLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NasLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NasLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        state = ls.documents.pop(params.text_document.uri, None)
        if state is not None:
            state.closed = True
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                         diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: NasLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
        found = await lookup(ls, params.text_document.uri, params.position)
        if found is None or found.occurrence is None:
            return None
        sym = found.index.symbols.get(found.occurrence.key)
        text = hover_text(found.index, sym) if sym is not None else None
        if text is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                         range=found.range(found.occurrence.span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: NasLanguageServer, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
        found = await lookup(ls, params.text_document.uri, params.position)
        if found is None or found.occurrence is None:
            return None
        sym = found.index.symbols.get(found.occurrence.key)
        target = found.range(sym.span) if sym is not None else None  # ops live in Python, not in the file
        return [lsp.Location(uri=params.text_document.uri, range=target)] if target is not None else None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: NasLanguageServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        found = await lookup(ls, params.text_document.uri, params.position)
        if found is None or found.occurrence is None:
            return None
        ranges = [found.range(o.span) for o in found.index.references(found.occurrence.key,
                                                                       params.context.include_declaration)]
        return [lsp.Location(uri=params.text_document.uri, range=r) for r in ranges if r is not None]

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["[", ".", ":", " "]))
    async def completion(ls: NasLanguageServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        state = ls.documents.get(uri)
        analysis = state.latest if state is not None else None
        if analysis is None:
            analysis = await ls.current(uri)
        if analysis is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        loop = asyncio.get_running_loop()
        index = await loop.run_in_executor(ls.analyser, analysis.index)
        fallback = state.parsed if state is not None and state.parsed is not analysis else None
        fallback_index = await loop.run_in_executor(ls.analyser, fallback.index) if fallback is not None else None
        doc = ls.workspace.get_text_document(uri)
        positions = Positions(doc.source, doc.position_codec.client_num_units)
        line, column = positions.from_position(params.position)
        prefix = positions.lines[line - 1][:column - 1] if line - 1 < len(positions.lines) else ""
        snippets = bool(get_capability(ls.client_capabilities,
                                       "text_document.completion.completion_item.snippet_support", False))
        return lsp.CompletionList(is_incomplete=False, items=complete(index, fallback_index, line, prefix, snippets))

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def symbols(ls: NasLanguageServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        found = await ls.index(params.text_document.uri)
        if found is None or found[0].module is None:
            return []
        index, positions = found
        return document_symbols(index.module, positions)

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def format_document(ls: NasLanguageServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        return formatting.edits(doc.source, to_fs_path(doc.uri) or doc.uri,
                                Positions(doc.source, doc.position_codec.client_num_units))

    return server
