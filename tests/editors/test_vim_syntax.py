"""The generated Vim syntax file, run by a headless Neovim on every file in spaces/, against lark's parse.

Needs `nvim` (skipped without it: Debian's `neovim` package is enough; the file is plain Vim script, 0.7 works).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

import nas_tokens
from pbtnas.dsl import vimsyntax, vocabulary

REPO = Path(__file__).resolve().parents[2]
SPACES = sorted((REPO / "spaces").glob("*.nas"))
NVIM = shutil.which("nvim")
VOC = vocabulary.load()
SAMPLES = ["0", "12", "1.5", "2.", "1e5", "1.5e-3", "3E+2", "7e", "x1", "a_2", "12.5.3"]

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed")


@lru_cache(maxsize=1)
def dump() -> dict:
    env = dict(os.environ, NAS_FILES="\n".join(str(p) for p in SPACES), NAS_SAMPLES="\n".join(SAMPLES),
               NAS_PATTERNS=json.dumps({"int": vimsyntax.VIM_INT, "float": vimsyntax.VIM_FLOAT}))
    done = subprocess.run(
        [NVIM, "--headless", "--clean", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={REPO / 'editors' / 'vim'}",
         "--cmd", "filetype plugin on", "--cmd", "syntax on", "-c", f"luafile {Path(__file__).parent / 'vim_dump.lua'}"],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _groups(runs: list) -> list[str]:
    return [name for name, count in runs for _ in range(count)]


def test_the_number_patterns_are_the_grammar_s():
    for sample in SAMPLES:
        got = dump()["samples"][sample]
        # The first whole-word number in the sample, as nas.lark's lexer (FLOAT before INT) would read it there.
        want_float = re.search(rf"\b(?:{VOC.patterns['FLOAT']})", sample)
        want_int = re.search(rf"\b{VOC.patterns['INT']}\b", sample)
        assert got["float"] == (want_float.group(0) if want_float else ""), sample
        assert got["int"] == (want_int.group(0) if want_int else ""), sample


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.name)
def test_the_spaces_get_their_syntax_groups(path):
    info = dump()["files"][str(path)]
    assert (info["filetype"], info["syntax"], info["commentstring"]) == ("nas", "nas", "# %s")
    lines = [_groups(runs) for runs in info["lines"]]
    problems = []
    for token, rule, index, _ in nas_tokens.tokens(path.read_text()):
        word, kind = str(token), token.type
        if kind == "COMMENT":
            want = "nasComment"
        elif kind in ("INT", "FLOAT"):
            want = "nasNumber" if kind == "INT" else "nasFloat"
        elif kind != "NAME" and word in VOC.keywords:
            want = vimsyntax._group(word)
        elif kind == "NAME" and rule in ("slot_ref", "slot_inline", "param_inline", "param_ref", "pick_stmt",
                                         "tied") and index == 0:
            want = "nasGene"
        elif kind == "NAME" and rule in ("call", "name") and index == 0 and word in VOC.ops:
            want = "nasOp"
        else:
            continue
        got = set(lines[token.line - 1][token.column - 1:token.column - 1 + len(word)])
        if got != {want}:
            problems.append(f"{path.name}:{token.line}:{token.column} {word!r}: expected {want}, got {sorted(got)}")
    assert not problems, "\n".join(problems[:30])
