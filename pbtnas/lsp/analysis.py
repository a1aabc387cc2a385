"""One version of a document run through the compiler: its diagnostics (exactly the compiler's, as `pbtnas check`
reports them) and the AST and program the editor features read.

The compiler's analysis is pure Python: parse (pbtnas.dsl.parser) then the elaborator's passes
(pbtnas.compiler.elaborate); `compile_text` is not used because its artifact and builder are for searches, not for
editing. A text with a syntax error has one diagnostic (the parser stops there); its AST for hover and completion is
the text with the broken declarations blanked out (recovery.py), computed only when a request needs it.

Successive versions differ in a declaration or two: the parse reuses the ASTs of the others
(pbtnas.dsl.incremental), with exactly the AST and diagnostics of a full parse.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pbtnas.compiler.elaborate import Elaborator, Program
from pbtnas.compiler.space import gc_paused
from pbtnas.dsl import ast
from pbtnas.dsl.diagnostics import Collector, Diagnostic, DiagnosticError, Span
from pbtnas.dsl.incremental import ReusingParser
from pbtnas.lsp import recovery
from pbtnas.lsp.index import Index, build_index


@dataclass
class Analysis:
    text: str
    filename: str
    version: int | None
    diagnostics: list[Diagnostic]
    module: ast.Module | None  # None: a syntax error (see `recovered`)
    program: Program | None
    _index: Index | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def parsed(self) -> bool:
        return self.module is not None

    def index(self) -> Index:
        """The position index of this version; for a syntax error, of the declarations that still parse."""
        with self._lock:
            if self._index is None:
                module, program = self.module, self.program
                if module is None:
                    error = self.diagnostics[0].span if self.diagnostics else None
                    module, _ = recovery.recover(self.text, self.filename, error)
                    try:
                        program = _elaborate(module)[0] if module is not None else None
                    except Exception:  # noqa: BLE001 - the diagnostics already say the compiler failed
                        program = None
                self._index = build_index(module, program, self.text)
            return self._index


def _elaborate(module: ast.Module) -> tuple[Program | None, list[Diagnostic]]:
    diag = Collector()
    program = Elaborator(module, {}, diag).run()
    return program, diag.items


def analyse(text: str, filename: str, version: int | None = None) -> Analysis:
    """Every diagnostic of `text`, sorted as the CLI sorts them."""
    with gc_paused():  # as compile_text: the cyclic collector would only rescan the AST and the program
        return _analyse(text, filename, version)


_PARSER = ReusingParser()  # one for all documents: a piece is reused only where its text and lines are the same


def _analyse(text: str, filename: str, version: int | None) -> Analysis:
    """A crash of the compiler is a diagnostic here, not a crashed server: the editor keeps working and the message
    says what to report."""
    try:
        module = _PARSER.parse(text, filename)
    except DiagnosticError as err:
        return Analysis(text, filename, version, list(err.diagnostics), None, None)
    except RecursionError:
        return Analysis(text, filename, version, [_internal("the parser ran out of stack")], None, None)
    try:
        program, items = _elaborate(module)
    except Exception as err:  # noqa: BLE001 - a compiler bug must not take the editor's server down with it
        return Analysis(text, filename, version, [_internal(f"{type(err).__name__}: {err}")], module, None)
    return Analysis(text, filename, version, sorted(items, key=Diagnostic.sort_key), module, program)


def _internal(what: str) -> Diagnostic:
    return Diagnostic("internal", f"internal compiler error: {what}", Span.point(1, 1),
                      hint="`pbtnas check` on this file shows the same; please report it with the file")
