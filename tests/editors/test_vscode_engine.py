"""The Python engine the highlighting tests use reads the grammar as VS Code does.

VS Code tokenizes with vscode-textmate on Oniguruma; editors/vscode/test/tokenize.js runs exactly that (the
package's devDependencies). Where it is installed (`npm install` in editors/vscode) this compares, for every
non-blank character of every file in spaces/, the innermost scope both engines give. Without it the test is
skipped, and the pattern-subset test in test_highlighting.py is what keeps the grammar portable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from test_highlighting import SPACES, grammar

PACKAGE = Path(__file__).resolve().parents[2] / "editors" / "vscode"
NODE = shutil.which("node")
INSTALLED = all((PACKAGE / "node_modules" / name).is_dir() for name in ("vscode-textmate", "vscode-oniguruma"))


@pytest.mark.skipif(NODE is None or not INSTALLED, reason="node or editors/vscode's devDependencies not installed")
def test_vscode_textmate_gives_every_character_the_scope_the_python_engine_gives():
    done = subprocess.run([NODE, str(PACKAGE / "test" / "tokenize.js"), *map(str, SPACES)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    vscode = json.loads(done.stdout)
    differences, compared = [], 0
    for path in SPACES:
        text = path.read_text()
        ours = grammar().tokenize(text)
        for n, (line, runs) in enumerate(zip(text.split("\n"), vscode[str(path)]), start=1):
            theirs = [scope for scope, count in runs for _ in range(count)]
            for c, ch in enumerate(line):
                if ch.isspace():
                    continue
                compared += 1
                if theirs[c] != ours[n - 1][c][-1]:
                    differences.append(f"{path.name}:{n}:{c + 1} {ch!r}: vscode {theirs[c]}, python {ours[n - 1][c][-1]}")
    assert compared > 10_000
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences[:30])
