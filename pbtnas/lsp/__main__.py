"""`python -m pbtnas.lsp`: the language server over stdio."""

from pbtnas.lsp import serve_stdio

serve_stdio()
