"""`pbtnas fmt` and `pbtnas lsp` through the console script: exit codes as docs/format.md states them, and the
language server answering an editor over stdio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pbtnas.lsp.client import StdioClient

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "spaces" / "mlp.nas"


def pbtnas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pbtnas", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_fmt_check_diff_and_rewrite(tmp_path: Path) -> None:
    messy = tmp_path / "mlp.nas"
    messy.write_text(MLP.read_text().replace("plain     = identity", "plain=identity"))
    check = pbtnas("fmt", "--check", str(messy), cwd=tmp_path)
    assert check.returncode == 1 and "would reformat" in check.stderr
    diff = pbtnas("fmt", "--diff", str(messy), cwd=tmp_path)
    assert diff.returncode == 0 and "-    plain=identity" in diff.stdout and "+    plain     = identity" in diff.stdout
    assert "plain=identity" in messy.read_text()  # --diff writes nothing
    done = pbtnas("fmt", str(messy), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert messy.read_text() == MLP.read_text()
    assert pbtnas("fmt", "--check", str(messy), cwd=tmp_path).returncode == 0


def test_fmt_of_a_file_that_does_not_parse_is_a_diagnostic_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nas"
    bad.write_text("block {\n")
    done = pbtnas("fmt", str(bad), str(tmp_path / "missing.nas"), cwd=tmp_path)
    assert done.returncode == 2
    assert "error[E0001]" in done.stderr and "bad.nas:1:7" in done.stderr and "Traceback" not in done.stderr
    assert "missing.nas" in done.stderr
    assert bad.read_text() == "block {\n"


def test_pbtnas_lsp_serves_diagnostics_over_stdio(tmp_path: Path) -> None:
    server = StdioClient([sys.executable, "-m", "pbtnas", "lsp"], cwd=tmp_path)
    try:
        server.initialize(tmp_path)
        uri = (tmp_path / "broken.nas").as_uri()
        server.open(uri, MLP.read_text().replace("param act2: ACT", "param act2: ACTS"))
        diagnostics, _, _ = server.diagnostics(uri, 1)
        assert [d["code"] for d in diagnostics] == ["E0101"], diagnostics
    finally:
        assert server.close() == 0
