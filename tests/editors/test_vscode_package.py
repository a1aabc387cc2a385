"""editors/vscode installs from the folder: its manifest is valid, points at files that exist and agree with each
other, and its extension code does what the manifest's settings promise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pbtnas.dsl import vocabulary

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "editors" / "vscode"
MANIFEST = json.loads((PACKAGE / "package.json").read_text())
EXTENSION = (PACKAGE / "extension.js").read_text()


def _file(relative: str) -> Path:
    path = (PACKAGE / relative).resolve()
    assert path.is_file(), f"package.json names {relative}, which does not exist in editors/vscode"
    assert PACKAGE.resolve() in path.parents, f"{relative} is outside the package folder"
    return path


def test_the_manifest_has_what_vsce_and_vscode_require():
    for key in ("name", "publisher", "version", "engines", "main", "contributes"):
        assert key in MANIFEST, f"package.json has no `{key}`"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", MANIFEST["name"])  # vsce refuses upper case and spaces
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert re.fullmatch(r"\^\d+\.\d+\.\d+", MANIFEST["engines"]["vscode"])
    _file(MANIFEST["main"])
    assert "onLanguage:nas" in MANIFEST["activationEvents"]
    assert "vscode-languageclient" in MANIFEST["dependencies"]


def test_the_language_the_grammar_and_the_configuration_agree():
    (language,) = MANIFEST["contributes"]["languages"]
    (grammar,) = MANIFEST["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "nas"
    assert language["extensions"] == [".nas"]
    tm = json.loads(_file(grammar["path"]).read_text())
    assert tm["scopeName"] == grammar["scopeName"]
    config = json.loads(_file(language["configuration"]).read_text())
    voc = vocabulary.load()
    assert config["comments"] == {"lineComment": voc.line_comment}  # the comment nas.lark defines
    assert ["(", ")"] in config["brackets"] and ["[", "]"] in config["brackets"] and ["{", "}"] in config["brackets"]
    assert {"open": "{", "close": "}"} in config["autoClosingPairs"]


def test_every_setting_the_extension_reads_is_declared_and_every_command_registered():
    properties = MANIFEST["contributes"]["configuration"]["properties"]
    read = set(re.findall(r"config\.get\('([\w.]+)'", EXTENSION))
    assert read == {"server.command", "server.args", "server.enabled"}
    assert {f"pbtnas.{key}" for key in read} | {"pbtnas.trace.server"} == set(properties)
    assert properties["pbtnas.server.command"]["default"] == "pbtnas"
    assert properties["pbtnas.server.args"]["default"] == ["lsp"]  # `pbtnas lsp` over stdio
    assert properties["pbtnas.trace.server"]["enum"] == ["off", "messages", "verbose"]
    # The client's id must be the settings' section, or `pbtnas.trace.server` does nothing.
    assert "const SECTION = 'pbtnas';" in EXTENSION and "new LanguageClient(SECTION," in EXTENSION
    for command in MANIFEST["contributes"]["commands"]:
        assert f"registerCommand('{command['command']}'" in EXTENSION


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_extension_parses_and_starts_the_server_the_settings_name():
    subprocess.run([NODE, "--check", str(PACKAGE / "extension.js")], check=True, timeout=30)
    done = subprocess.run([NODE, str(Path(__file__).parent / "extension_smoke.js")], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "all checks passed" in done.stdout
