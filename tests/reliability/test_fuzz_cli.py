"""Bad input at the command line: every command given wrong types, unknown keys, out-of-range values, missing files,
a directory where a file belongs, empty, binary and non-UTF-8 files, and run directories that are not runs. Each
case must end with a non-zero exit and a one-line `error` on stderr: never a Python traceback, never a hang.

In-process through typer's CliRunner (each case under a SIGALRM guard, each test under nas_fuzz's backstop), plus a few real subprocesses that check
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

from nas_fuzz import BACKSTOP_SECONDS, SPACES, backstop, fast, time_guard  # noqa: E402

from pbtnas.cli import app  # noqa: E402
from pbtnas.engine.config import SearchConfig, validate_config  # noqa: E402
from pbtnas.errors import EXIT_INTERNAL  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GUARD_SECONDS = 20.0
runner = CliRunner()


class WouldSearch(Exception):
    """Raised instead of starting Ray: the configuration was accepted. Holds what the search would have run with."""

    def __init__(self, cfg: SearchConfig, run_dir: Path) -> None:
        super().__init__(f"would search {run_dir}")
        self.cfg, self.run_dir = cfg, run_dir


@pytest.fixture(autouse=True)
def _backstop() -> Iterator[None]:
    with backstop(BACKSTOP_SECONDS):  # a hang in C code, which the per-case SIGALRM guard cannot interrupt
        yield


@pytest.fixture(autouse=True)
def _no_ray_left_behind() -> Iterator[None]:
    """A search case that passes validation starts Ray in this process before the refused run_search; Ray stays up
    for an in-process caller (only the console entry shuts it down), which a later ray.init (the suite's session Ray,
    when this file runs before tests/cli) would refuse."""
    ray = sys.modules.get("ray")
    running = ray is not None and ray.is_initialized()
    yield
    ray = sys.modules.get("ray")
    if not running and ray is not None and ray.is_initialized():
        ray.shutdown()


@pytest.fixture(autouse=True)
def no_real_search(monkeypatch: pytest.MonkeyPatch) -> None:
    import pbtnas.engine.commands as commands

    def refuse(cfg: SearchConfig, space: Any, run_dir: Path, *args: Any, **kwargs: Any) -> Any:
        raise WouldSearch(cfg, run_dir)

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
        # `sample DIR` reads a directory as a GAN run: an empty folder is no run, refused like the run-directory
        # cases below (their exit code, not the compiler's)
        assert_diagnostic(args, "run")
        return
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
    (["--address", "1e999"], "not a ray address"),
    (["--address", "10.0.0.1:port"], "not a ray address"),
    (["--address", "10.0.0.1:70000"], "not a ray address"),
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
BASE = {"space": str(SPACES / "digits.nas"), "population": 2, "epochs": 2, "step": 1, "progress": False}
FIELDS = ["space", "overrides", "task", "task_options", "algorithm", "population", "epochs", "step",
          "step_schedule", "seed", "tau", "mix_probability", "shrink_perturb", "mix_with_self", "out", "address",
          "workers", "cpus_per_member", "gpus_per_member", "max_retries", "progress", "tensorboard", "plugins"]
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


# Values every field accepts: a config made only of these must be accepted, so the fuzz also checks the other side.
VALID: dict[str, st.SearchStrategy[Any]] = {
    "population": st.integers(2, 64),
    "epochs": st.integers(2, 50),
    "seed": st.integers(0, 2**31),
    "tau": st.floats(0.01, 0.5),
    "mix_probability": st.floats(0.0, 1.0),
    "algorithm": st.sampled_from(["pbtnas", "random", "mutation"]),
    "workers": st.integers(1, 8),
    "cpus_per_member": st.floats(0.1, 4.0),
    "max_retries": st.integers(0, 5),
    "progress": st.just(False),
    "tensorboard": st.booleans(),
    "overlap_steps": st.booleans(),
    "address": st.sampled_from(["auto", "127.0.0.1:6379", "head.example:10001", "ray://10.0.0.1:10001"]),
}

CORRUPTION = st.one_of(
    st.tuples(st.just("wrong_value"), st.sampled_from(FIELDS), JUNK),
    st.tuples(st.just("unknown_key"), st.text(min_size=1, max_size=12), JUNK),
    st.tuples(st.just("drop"), st.sampled_from(["space"]), st.none()),
    st.tuples(st.just("task_option"), st.sampled_from(["batch_size", "lr", "data", "nope", "preset"]), JUNK),
    st.sampled_from(sorted(VALID)).flatmap(lambda k: st.tuples(st.just("valid_value"), st.just(k), VALID[k])),
)
FUZZ_EXAMPLES = 60

# pydantic's lax mode (what the loader uses) reads these strings as booleans
TRUE, FALSE = {"1", "true", "t", "yes", "y", "on"}, {"0", "false", "f", "no", "n", "off"}


def same(got: Any, written: Any) -> bool:
    """Whether an accepted config holds the value the file wrote, allowing only the loader's lax conversions
    (1 for true, "2" for 2, a list for a tuple)."""
    if isinstance(got, bool) and isinstance(written, str):
        return written.strip().lower() in (TRUE if got else FALSE)
    if got == written and not (isinstance(got, float) and math.isnan(got)):
        return True
    if isinstance(got, (int, float)) and isinstance(written, str):
        try:
            return float(written) == got
        except ValueError:
            return False
    if isinstance(got, (list, tuple)) and isinstance(written, list):
        return len(got) == len(written) and all(same(g, w) for g, w in zip(got, written))
    return False


def check_accepted(written: dict[str, Any], cfg: SearchConfig, run_dir: Path) -> None:
    """An accepted config is the file's config: no key ignored, every value the one written (up to the lax
    conversions above), the run directory the one given, and it survives the round trip through config.json
    that --resume makes."""
    assert set(written) <= set(SearchConfig.model_fields), sorted(set(written) - set(SearchConfig.model_fields))
    for key, value in written.items():
        if key == "task_options":
            for name, option in value.items():
                assert same(cfg.task_options.get(name), option), (name, option, cfg.task_options)
        else:
            assert same(getattr(cfg, key), value), (key, value, getattr(cfg, key))
    if isinstance(written.get("out"), str) and written["out"].strip():
        assert run_dir == Path(written["out"]), (run_dir, written["out"])
    stored = json.loads(json.dumps(cfg.model_dump(mode="json")))  # what the run writes to config.json
    assert validate_config(stored, "config.json") == cfg


def test_search_config_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A valid base config with one to three corruptions: a config made only of valid values is accepted and
    checked; one with an unknown key or without its space is refused; whatever else is accepted is checked too,
    and the rest end in a one-line error."""
    outcomes: Counter[str] = Counter()

    @fast(FUZZ_EXAMPLES)
    @given(st.lists(CORRUPTION, min_size=1, max_size=3))
    def one(corruptions: list[tuple[str, Any, Any]]) -> None:
        folder = tmp_path_factory.mktemp("cfg")
        cfg: dict[str, Any] = {**BASE, "out": str(folder / "run")}
        for kind, key, value in corruptions:
            if kind == "drop":
                cfg.pop(key, None)
            elif kind == "task_option":
                cfg.setdefault("task_options", {})
                if isinstance(cfg["task_options"], dict):
                    cfg["task_options"][key] = value
            else:
                cfg[key] = value
        path = folder / "run.toml"
        path.write_text(to_toml(cfg))
        code, out, exc = invoke(["search", "--config", str(path)])
        kinds = {kind for kind, _, _ in corruptions}
        if kinds == {"valid_value"}:
            assert isinstance(exc, WouldSearch), (out, to_toml(cfg))
        if "drop" in kinds or any(k == "unknown_key" and key not in SearchConfig.model_fields
                                  for k, key, _ in corruptions):
            assert not isinstance(exc, WouldSearch), f"accepted a config it must refuse:\n{to_toml(cfg)}"
        if isinstance(exc, WouldSearch):
            outcomes["accepted"] += 1
            check_accepted(cfg, exc.cfg, exc.run_dir)
            assert not exc.run_dir.exists(), "the run directory was made before the search started"
            return
        outcomes["rejected"] += 1
        assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}\n{to_toml(cfg)}"
        assert code != 0 and "Traceback" not in out and "error" in out.lower(), (out, to_toml(cfg))

    one()
    print(f"config fuzz: {dict(outcomes)}")
    # every example ran, and both sides of the loader were exercised
    assert outcomes["accepted"] + outcomes["rejected"] == FUZZ_EXAMPLES, outcomes
    assert outcomes["accepted"] > 0 and outcomes["rejected"] >= FUZZ_EXAMPLES // 2, outcomes


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
    assert proc.returncode not in (0, EXIT_INTERNAL), proc  # exit 3 and no traceback would be a bug passing
    assert "Traceback" not in proc.stderr + proc.stdout and "internal error" not in proc.stderr, proc.stderr
    assert "error" in proc.stderr.lower(), proc.stderr
