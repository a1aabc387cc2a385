"""The committed editor files are what nas.lark and the op library give now, and their sources are read right."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pbtnas.dsl import editor_files, textmate, vocabulary
from pbtnas.dsl.parser import GRAMMAR_PATH
from pbtnas.dsl.vocabulary import VocabularyError
from pbtnas.layers import ops

REPO = Path(__file__).resolve().parents[2]
REGENERATE = "python -m pbtnas.dsl.editor_files"


@pytest.mark.parametrize("path", sorted(editor_files.GENERATED))
def test_the_committed_file_is_what_the_sources_give(path):
    committed = REPO / path
    assert committed.is_file(), f"{path} is missing: run `{REGENERATE}`"
    assert committed.read_text() == editor_files.render()[path], (
        f"{path} is out of date with grammars/nas.lark or pbtnas/layers/ops.py: run `{REGENERATE}` and commit it")


def test_the_vocabulary_is_the_op_library_s():
    voc = vocabulary.load()
    from pbtnas.layers import BUILTIN_OPS

    # pbtnas's own ops: every op the library registers itself (plugins other tests imported may have added more)
    assert list(voc.ops) == sorted(BUILTIN_OPS) and BUILTIN_OPS <= set(ops.op_names())
    assert {"conv", "linear", "attention", "conv1d", "relu"} <= BUILTIN_OPS
    assert set(voc.reserved) == ops.RESERVED
    assert set(voc.booleans) == ops.BOOL_TRUE | ops.BOOL_FALSE
    assert not set(voc.ops) & set(voc.keywords), "an op named like a keyword could never be written"


def test_the_keywords_are_nas_lark_s_and_each_has_a_scope():
    voc = vocabulary.load()
    words = {w for w in re.findall(r'"([a-z]+)"', GRAMMAR_PATH.read_text())}
    assert set(voc.keywords) == words
    assert set(textmate.KEYWORD_SCOPES) == words
    assert {"->", ">>", "??", "//", "**", "==", "!="} <= set(voc.operators)
    assert voc.line_comment == "#"


def test_a_keyword_added_to_nas_lark_reaches_the_grammar_and_a_removed_one_is_reported(tmp_path):
    text = GRAMMAR_PATH.read_text().replace('return_stmt: "return" expr', 'return_stmt: "return" expr\n'
                                            '           | "yield" expr')
    lark_file = tmp_path / "nas.lark"
    lark_file.write_text(text)
    voc = vocabulary.load(grammar_path=lark_file)
    assert "yield" in voc.keywords
    rules = textmate.grammar(voc)["repository"]["keyword"]["patterns"]
    assert {"match": r"\b(?:yield)\b", "name": "keyword.other.yield.nas"} in rules
    assert "yield" in editor_files.vimsyntax.syntax(voc)

    lark_file.write_text(GRAMMAR_PATH.read_text().replace('"tied" NAME', '"shared" NAME'))
    with pytest.raises(VocabularyError, match="no keyword tied any more.*KEYWORD_SCOPES"):
        textmate.grammar(vocabulary.load(grammar_path=lark_file))


def test_a_new_kind_of_token_in_nas_lark_must_be_taught_to_the_generator(tmp_path):
    lark_file = tmp_path / "nas.lark"
    lark_file.write_text(GRAMMAR_PATH.read_text().replace("?number: INT -> int", "?number: INT -> int\n"
                                                          "       | HEX -> int") + "\nHEX: /0x[0-9a-f]+/\n")
    with pytest.raises(VocabularyError, match="terminal HEX .* do not know"):
        vocabulary.load(grammar_path=lark_file)


def test_check_names_the_stale_file_and_the_command(tmp_path, capsys):
    for path, text in editor_files.render().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assert editor_files.main(["--check"], root=tmp_path) == 0
    stale = tmp_path / "editors/vscode/syntaxes/nas.tmLanguage.json"
    stale.write_text(stale.read_text().replace("support.function.op.nas", "variable.other.nas"))
    assert editor_files.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "out of date: editors/vscode/syntaxes/nas.tmLanguage.json" in err and REGENERATE in err
    assert editor_files.main([], root=tmp_path) == 0  # regenerating repairs it
    assert editor_files.stale(tmp_path) == []


def test_generating_needs_no_torch():
    code = ("import sys; from pbtnas.dsl import editor_files; editor_files.render(); "
            "assert 'torch' not in sys.modules, 'the editor generator imported torch'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_a_plugin_op_registered_in_the_process_does_not_reach_the_editor_files() -> None:
    from pbtnas.dsl import vocabulary
    from pbtnas.layers import ArgSpec, OpSpec, register_op
    from pbtnas.layers.ops import _REGISTRY

    spec = OpSpec("editor_test_plugin_op", (ArgSpec("out", "dim"),), lambda s, a: s, lambda s, a: [], lambda s, a: None)
    register_op(spec)
    try:
        assert "editor_test_plugin_op" not in vocabulary.load().ops
    finally:
        del _REGISTRY["editor_test_plugin_op"]
