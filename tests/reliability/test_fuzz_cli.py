"""Bad input at the command line: every command given wrong types, unknown keys, out-of-range values, missing files,
a directory where a file belongs, empty, binary and non-UTF-8 files, and run directories that are not runs. Each
case must end with a non-zero exit and a one-line `error` on stderr: never a Python traceback, never a hang.

In-process through typer's CliRunner (each case under a SIGALRM guard), plus a few real subprocesses that check
the same from the outside (exit status, stderr, no "Traceback"). `pbtnas.engine.commands.run_search` is replaced
by a sentinel: a config the loader accepts is recorded instead of starting Ray, so no case can start a search.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dsl"))

from nas_fuzz import SPACES, fast, time_guard  # noqa: E402

from pbtnas.cli import app  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GUARD_SECONDS = 20.0
runner = CliRunner()


class WouldSearch(Exception):
    """Raised instead of starting Ray: the configuration was accepted."""


@pytest.fixture(autouse=True)
def no_real_search(monkeypatch: pytest.MonkeyPatch) -> None:
    import pbtnas.engine.commands as commands

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise WouldSearch()

    monkeypatch.setattr(commands, "run_search", refuse)


def invoke(args: list[str]) -> tuple[int, str, BaseException | None]:
    with time_guard(GUARD_SECONDS):
        result = runner.invoke(app, args)
    err = result.stderr if result.stderr_bytes is not None else ""
    return result.exit_code, result.output + err, result.exception


def assert_diagnostic(args: list[str], expect: str | None = None) -> str:
    code, out, exc = invoke(args)
    assert not isinstance(exc, WouldSearch), f"{args} was accepted and would have started a search"
    assert exc is None or isinstance(exc, SystemExit), f"{args}: {type(exc).__name__}: {exc}\n{out}"
    assert code != 0, (args, out)
    assert "Traceback" not in out, out
    low = out.lower()
    assert "error" in low or "usage" in low, out  # ours say error:, click's usage errors say Usage + Error
    if expect is not None:
        assert expect.lower() in low, (expect, out)
    return out


# ---- files of every bad kind ---------------------------------------------------------------------------------------


@pytest.fixture()
def bad(tmp_path: Path) -> dict[str, Path]:
    files = {
        "missing": tmp_path / "no" / "such.file",
        "dir": tmp_path / "a_dir",
        "empty": tmp_path / "empty.toml",
        "binary": tmp_path / "binary.bin",
        "latin1": tmp_path / "latin1.toml",
        "json_garbage": tmp_path / "garbage.json",
        "nas_empty": tmp_path / "empty.nas",
    }
    files["dir"].mkdir()
    files["empty"].write_text("")
    files["binary"].write_bytes(bytes(range(256)) * 4)
    files["latin1"].write_bytes("space = \"caf\xe9.nas\"\n".encode("latin-1"))
    files["json_garbage"].write_text('{"loader": 1, "artifact": [}')
    files["nas_empty"].write_text("")
    return files


FILE_KINDS = ["missing", "dir", "binary", "latin1", "json_garbage"]


@pytest.mark.parametrize("kind", FILE_KINDS + ["nas_empty"])
@pytest.mark.parametrize("command", [["compile"], ["check"], ["sample"], ["check", "--format", "json"]])
def test_compiler_commands_on_bad_space_files(bad: dict[str, Path], kind: str, command: list[str],
                                              tmp_path: Path) -> None:
    args = [*command, str(bad[kind])]
    if command[0] == "compile":
        args += ["--out", str(tmp_path / "out.json")]
    if command == ["sample"] and kind == "dir":
        return  # `sample DIR` treats a directory as a GAN run: covered by the run-directory cases below
    code, out, exc = invoke(args)
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}"
    assert code == 1 and "Traceback" not in out and "error" in out, out


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_show_with_a_bad_genome_file(bad: dict[str, Path], kind: str) -> None:
    assert_diagnostic(["show", str(SPACES / "mlp.nas"), str(bad[kind])])


@pytest.mark.parametrize("genome", ['[1, 2]', '{"values": "abc"}', '{"values": [99, 99, 99, 99, 99, 99]}',
                                    '{"values": [0], "schema_hash": "x"}', 'null', '{"values": [-1]}'])
def test_show_with_a_wrong_genome(tmp_path: Path, genome: str) -> None:
    path = tmp_path / "g.json"
    path.write_text(genome)
    assert_diagnostic(["show", str(SPACES / "mlp.nas"), str(path)])


@pytest.mark.parametrize("args", [
    ["check", "{mlp}", "--set", "=1"],
    ["check", "{mlp}", "--set", "no_such_constant=1"],
    ["check", "{digits}", "--set", "width=-1"],
    ["check", "{digits}", "--set", "width=0"],
    ["check", "{digits}", "--set", "width=99999999999999999999999"],
    ["check", "{digits}", "--set", "width=2.5"],
    ["check", "{digits}", "--set", "width=__import__('os')"],
    ["compile", "{mlp}", "--out", "{tmp}/bad\x00name.json"],
    ["compile", "{mlp}", "--out", "{tmp}"],
    ["sample", "{mlp}", "--seed", "abc"],
    ["sample", "{mlp}", "--out", "{tmp}/a\x00b.json"],
    ["sample", "{mlp}", "--out", "{tmp}/no/such/dir/g.json"],
    ["ops", "--plugin", "no_such_module_xyz"],
    ["check", "{mlp}", "--plugin", "os.path.nonexistent_xyz"],
    ["compile"],
    ["no-such-command"],
])
def test_compiler_flags(args: list[str], tmp_path: Path) -> None:
    args = [a.format(mlp=SPACES / "mlp.nas", digits=SPACES / "digits.nas", tmp=tmp_path) for a in args]
    assert_diagnostic(args)


# ---- search: flags and the config loader --------------------------------------------------------------------------


@pytest.mark.parametrize("flags, expect", [
    (["--population", "0"], "population"),
    (["--population", "abc"], None),
    (["--epochs", "-3"], "epochs"),
    (["--step", "0"], "step"),
    (["--tau", "0.9"], "tau"),
    (["--tau", "nan"], "tau"),
    (["--mix-probability", "1.5"], "mix_probability"),
    (["--seed", "-1"], "seed"),
    (["--algorithm", "simulated_annealing"], "algorithm"),
    (["--task", "no_such_task"], "task"),
    (["--task", "os:system"], None),
    (["--task-option", "novalue"], "name=value"),
    (["--task-option", "no_such_option=1"], "task options"),
    (["--task-option", "batch_size=-5"], "task options"),
    (["--set", "width"], "name=value"),
    (["--set", "no_such_constant=3"], "no_such_constant"),
    (["--shrink-perturb", "a,b"], "shrink"),
    (["--shrink-perturb", "0.4"], "shrink"),
    (["--step-schedule", "ten:2"], "step-schedule"),
    (["--step-schedule", "0:0"], None),
    (["--workers", "0"], "workers"),
    (["--cpus-per-member", "0"], "cpus_per_member"),
    (["--gpus-per-member", "-1"], "gpus_per_member"),
    (["--max-retries", "-1"], "max_retries"),
    (["--algorithm", "mutation", "--shrink-perturb", "0.4,0.1"], "shrink"),
    (["--algorithm", "random", "--mix-with-self"], "mix_with_self"),
    (["--out", "{tmp}/run\x00x"], "nul"),
    (["--out", "{file}"], "not a directory"),
    (["--out", "{nonempty}"], "not empty"),
])
def test_search_flags(flags: list[str], expect: str | None, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "nonempty").mkdir()
    (tmp_path / "nonempty" / "x").write_text("x")
    flags = [f.format(tmp=tmp_path, file=tmp_path / "file.txt", nonempty=tmp_path / "nonempty") for f in flags]
    assert_diagnostic(["search", str(SPACES / "mlp.nas"), "--no-progress", *flags], expect)


@pytest.mark.parametrize("space, expect", [
    ("{tmp}/missing.nas", "not found"),
    ("{tmp}", "cannot read"),
    ("{binary}", "cannot read"),
    ("{json}", "not a compiled space"),
    ("{emptynas}", "no network"),
])
def test_search_bad_space_argument(space: str, expect: str, bad: dict[str, Path], tmp_path: Path) -> None:
    space = space.format(tmp=tmp_path, binary=bad["binary"], json=bad["json_garbage"], emptynas=bad["nas_empty"])
    assert_diagnostic(["search", space, "--no-progress", "--out", str(tmp_path / "run")], expect)


@pytest.mark.parametrize("kind, expect", [("missing", "not found"), ("dir", "directory"), ("binary", "not a text"),
                                          ("latin1", "not a text"), ("empty", "give the space"),
                                          ("json_garbage", "toml")])
def test_search_config_file_kinds(bad: dict[str, Path], kind: str, expect: str) -> None:
    assert_diagnostic(["search", "--config", str(bad[kind]), "--no-progress"], expect)


# Hypothesis: a valid base config with one to three corruptions.
BASE = {"space": str(SPACES / "mlp.nas"), "population": 2, "epochs": 2, "step": 1, "progress": False}
FIELDS = ["space", "overrides", "task", "task_options", "algorithm", "population", "epochs", "step",
          "step_schedule", "seed", "tau", "mix_probability", "shrink_perturb", "mix_with_self", "out", "address",
          "workers", "cpus_per_member", "gpus_per_member", "max_retries", "progress", "tensorboard"]
JUNK = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=20), st.sampled_from(["", "../../etc/passwd", "__import__('os').system('x')", "os:system",
                                           "${HOME}", "`id`", "\u202e", "nan", "-1", "1e999"]),
    st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string (\uXXXX escapes included)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def to_toml(d: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in d.items())


CORRUPTION = st.one_of(
    st.tuples(st.just("wrong_value"), st.sampled_from(FIELDS), JUNK),
    st.tuples(st.just("unknown_key"), st.text(min_size=1, max_size=12), JUNK),
    st.tuples(st.just("drop"), st.sampled_from(["space"]), st.none()),
    st.tuples(st.just("task_option"), st.sampled_from(["batch_size", "lr", "data", "nope", "preset"]), JUNK),
)
CONFIG_OUTCOMES: Counter[str] = Counter()


@fast(60)
@given(st.lists(CORRUPTION, min_size=1, max_size=3))
def test_search_config_fuzz(tmp_path_factory: pytest.TempPathFactory, corruptions: list[tuple[str, Any, Any]]) -> None:
    cfg: dict[str, Any] = dict(BASE)
    for kind, key, value in corruptions:
        if kind == "drop":
            cfg.pop(key, None)
        elif kind == "task_option":
            cfg.setdefault("task_options", {})
            if isinstance(cfg["task_options"], dict):
                cfg["task_options"][key] = value
        else:
            cfg[key] = value
    folder = tmp_path_factory.mktemp("cfg")
    cfg.setdefault("out", str(folder / "run")) if "out" in cfg else None
    path = folder / "run.toml"
    path.write_text(to_toml(cfg))
    code, out, exc = invoke(["search", "--config", str(path)])
    if isinstance(exc, WouldSearch):
        CONFIG_OUTCOMES["accepted"] += 1  # e.g. progress = 1 (pydantic reads it as true): a valid config
        return
    CONFIG_OUTCOMES["rejected"] += 1
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}\n{to_toml(cfg)}"
    assert code != 0 and "Traceback" not in out and "error" in out.lower(), (out, to_toml(cfg))


def test_config_fuzz_rejected_nearly_everything() -> None:
    if not CONFIG_OUTCOMES:
        pytest.skip("runs after test_search_config_fuzz")
    assert CONFIG_OUTCOMES["rejected"] >= 0.8 * sum(CONFIG_OUTCOMES.values()), CONFIG_OUTCOMES


# ---- run directories: resume, evaluate, soup, report, sample, experiment -------------------------------------------


def fake_runs(root: Path) -> Iterator[tuple[str, Path]]:
    """Folders that are not runs, or are runs with one file broken."""
    yield "missing", root / "missing"
    f = root / "a_file"
    f.write_text("not a folder")
    yield "file", f
    (root / "empty").mkdir()
    yield "empty", root / "empty"
    g = root / "garbage"
    g.mkdir()
    for name in ("config.json", "progress.json", "space.json", "run.json"):
        (g / name).write_bytes(b"\xff\xfe garbage \x00")
    (g / "population").mkdir()
    (g / "population" / "epoch_0000.json").write_text("[]")
    yield "garbage", g
    s = root / "structured"
    s.mkdir()
    (s / "config.json").write_text(json.dumps({"task": 5, "space": []}))
    (s / "progress.json").write_text(json.dumps({"epoch": "x", "complete": True}))
    (s / "space.json").write_text(json.dumps(["loader"]))
    (s / "run.json").write_text("{}")
    (s / "best").mkdir()
    (s / "best" / "model.pt").write_text("not a checkpoint")
    yield "structured", s
    d = root / "dirs"
    d.mkdir()
    for name in ("config.json", "progress.json", "space.json"):
        (d / name).mkdir()
    yield "dirs", d


RUN_COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "resume": lambda run, tmp: ["search", "--resume", str(run), "--no-progress"],
    "evaluate": lambda run, tmp: ["evaluate", str(run), "--fid-images", "10", "--episodes", "1"],
    "soup": lambda run, tmp: ["soup", str(run)],
    "report": lambda run, tmp: ["report", str(run), "--out", str(tmp / "report")],
    "sample_run": lambda run, tmp: ["sample", str(run), "--out", str(tmp / "s.png")],
}


@pytest.mark.parametrize("command", list(RUN_COMMANDS))
def test_run_directory_commands_on_folders_that_are_not_runs(command: str, tmp_path: Path) -> None:
    for kind, run in fake_runs(tmp_path):
        if command == "sample_run" and kind in ("missing", "file"):
            continue  # `sample PATH` reads a missing or plain file as a .nas space: the compiler cases cover it
        assert_diagnostic(RUN_COMMANDS[command](run, tmp_path))


@pytest.mark.parametrize("args, expect", [
    (["--seeds", "0"], None),
    (["--seeds", "abc"], None),
    (["--out", "{tmp}/x\x00y"], "nul"),
])
def test_experiment_flags(args: list[str], expect: str | None, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'space = {json.dumps(str(SPACES / "mlp.nas"))}\npopulation = 0\n')
    assert_diagnostic(["experiment", str(config), *[a.format(tmp=tmp_path) for a in args]], expect)


@pytest.mark.parametrize("content, name, expect", [
    (None, "missing.toml", "not found"),
    ("population = -1\nspace = 'x.nas'\n", "bad.toml", "population"),
    ("seed = 'abc'\n", "seed.toml", "seed"),
    ("\xff\xfe", "binary.toml", "not a text"),
    ("space = 'spaces/mlp.nas'\n", "...toml", "not a plain name"),
    ("[[[", "syntax.toml", "toml"),
])
def test_experiment_configs(content: str | None, name: str, expect: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    assert_diagnostic(["experiment", str(path), "--out", str(tmp_path / "exp"), "--no-progress"], expect)
    assert not (tmp_path / "exp").exists() or not any((tmp_path / "exp").rglob("*.pt"))


# ---- a few real processes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["check", "{tmp}/missing.nas"],
    ["search", "--config", "{tmp}"],
    ["evaluate", "{tmp}"],
    ["soup", "{tmp}", "--name", "../escape"],
])
def test_real_processes_exit_nonzero_without_traceback(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pbtnas.cli", *[a.format(tmp=tmp_path) for a in args]],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "error" in proc.stderr.lower(), proc.stderr
