"""Compiled search spaces: `.nas` text -> genome layout, exact size, weight ownership and builders."""

from pbtnas.compiler.space import CompiledSpace, Gene, Genome, GenomeError, compile_space, compile_text
from pbtnas.dsl.diagnostics import DiagnosticError

__all__ = ["CompiledSpace", "DiagnosticError", "Gene", "Genome", "GenomeError", "compile_space", "compile_text"]
