"""docs/api.md's examples, run for real in their order (one tiny Ray search on the session's Ray)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_an_example_for_every_part_of_the_api() -> None:
    code = "\n".join(snippets())
    for call in ("pbtnas.compile_space(", "pbtnas.random_genome(", "space.validate(", ".build(",
                 "pbtnas.count_parameters(", "pbtnas.search(", "pbtnas.load(", "pbtnas.load_run(",
                 "pbtnas.ancestry(", "pbtnas.test_accuracy("):
        assert call in code, f"docs/api.md has no example of {call}"


@pytest.mark.slow
def test_the_examples_of_docs_api_run(ray_session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()  # the search's actors need the session's CPUs
    (tmp_path / "spaces").mkdir()
    shutil.copy(ROOT / "spaces" / "digits.nas", tmp_path / "spaces")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(snippets()):
        exec(compile(code, f"docs/api.md example {i + 1}", "exec"), namespace)  # the doc's own text, not input
    out = capsys.readouterr().out
    assert "digits 7 genes, 3888 genomes" in out
    assert (tmp_path / "runs" / "api-example" / "best" / "model.pt").is_file()
