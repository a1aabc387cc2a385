"""pbtnas: neural architecture search spaces as .nas files, searched with PBT-NAS.

The Python API (docs/api.md). Every name is imported on first use, so ``import pbtnas`` loads neither torch nor Ray:

    compile_space, compile_text      a .nas file (or text) -> CompiledSpace (genome layout, size, builder)
    CompiledSpace, Genome            space.validate(values), space.build(genome), space.to_json_genome(genome), ...
    random_genome                    a uniformly random genome of a space
    count_parameters                 the parameters of a built module
    search, SearchResult             `pbtnas search` from Python: the run directory and its summary
    load                             a finished run's best network (eval mode) and its genome
    test_accuracy                    a classify run's test accuracy and confusion matrix (`pbtnas evaluate`)
    load_run, ancestry               a run's populations (every step), lineage and the best member's ancestry
    UserError, DiagnosticError, GenomeError   the user mistakes every function raises, with their messages
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from pbtnas.api import SearchResult, random_genome, search, test_accuracy
    from pbtnas.compiler.builder import count_parameters
    from pbtnas.compiler.space import CompiledSpace, Genome, GenomeError, compile_space, compile_text
    from pbtnas.dsl.diagnostics import DiagnosticError
    from pbtnas.engine.loading import load
    from pbtnas.errors import UserError
    from pbtnas.report.lineage import ancestry
    from pbtnas.report.load import load_run

__all__ = ["CompiledSpace", "DiagnosticError", "Genome", "GenomeError", "SearchResult", "UserError", "ancestry",
           "compile_space", "compile_text", "count_parameters", "load", "load_run", "random_genome", "search",
           "test_accuracy"]


# Explicit imports, one per module (not importlib): a name resolves to exactly the attribute listed here.
def _api() -> Any:
    import pbtnas.api as module

    return module


def _space() -> Any:
    import pbtnas.compiler.space as module

    return module


def _builder() -> Any:
    import pbtnas.compiler.builder as module

    return module


def _diagnostics() -> Any:
    import pbtnas.dsl.diagnostics as module

    return module


def _loading() -> Any:
    import pbtnas.engine.loading as module

    return module


def _errors() -> Any:
    import pbtnas.errors as module

    return module


def _lineage() -> Any:
    import pbtnas.report.lineage as module

    return module


def _run_files() -> Any:
    import pbtnas.report.load as module

    return module


_HOMES: dict[str, Callable[[], Any]] = {
    "search": _api, "SearchResult": _api, "random_genome": _api, "test_accuracy": _api,
    "compile_space": _space, "compile_text": _space, "CompiledSpace": _space, "Genome": _space,
    "GenomeError": _space, "count_parameters": _builder, "DiagnosticError": _diagnostics, "load": _loading,
    "UserError": _errors, "ancestry": _lineage, "load_run": _run_files,
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pbtnas' has no attribute {name!r}")
    value = getattr(home(), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
