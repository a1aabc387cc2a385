"""Writes (or checks) the generated editor files: `python -m pbtnas.dsl.editor_files [--check]`.

The files live in the repository's editors/ folder and are committed, so that an editor package installs from the
folder without running Python. `--check` exits 1 and names the stale files when nas.lark or the op library changed
without regenerating (the test suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from pbtnas.dsl import textmate, vimsyntax, vocabulary
from pbtnas.dsl.vocabulary import Vocabulary, VocabularyError

REPO = Path(__file__).resolve().parents[2]


def _json(build: Callable[[Vocabulary], object]) -> Callable[[Vocabulary], str]:
    return lambda voc: json.dumps(build(voc), indent=2, ensure_ascii=False) + "\n"


# Relative to the repository root.
GENERATED: dict[str, Callable[[Vocabulary], str]] = {
    "editors/vscode/syntaxes/nas.tmLanguage.json": _json(textmate.grammar),
    "editors/vscode/language-configuration.json": _json(textmate.language_configuration),
    "editors/vim/syntax/nas.vim": vimsyntax.syntax,
}


def render(voc: Vocabulary | None = None) -> dict[str, str]:
    """Every generated file's path (relative to the repository) and its text."""
    voc = voc or vocabulary.load()
    return {path: build(voc) for path, build in GENERATED.items()}


def stale(root: Path = REPO) -> list[str]:
    """The generated files whose committed text differs from what the sources give now."""
    return [path for path, text in render().items()
            if not (root / path).is_file() or (root / path).read_text() != text]


def main(argv: list[str] | None = None, root: Path = REPO) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbtnas.dsl.editor_files", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is out of date")
    args = parser.parse_args(argv)
    try:
        files = render()
    except VocabularyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check:
        old = [p for p, text in files.items() if not (root / p).is_file() or (root / p).read_text() != text]
        for path in old:
            print(f"out of date: {path}", file=sys.stderr)
        if old:
            print(f"run `{textmate.GENERATED_BY}` to regenerate", file=sys.stderr)
        return 1 if old else 0
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
