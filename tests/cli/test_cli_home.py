"""The CLI's one home (pbtnas/cli/): the fast commands load neither torch nor Ray, every command is registered
there, the layers have no typer, `sample` means one thing, and `pbtnas.search` takes what `pbtnas search` takes."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.cli.spaces import RUN_SPELLING_NOTICE

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's pbtnas, from any working directory
# pydantic too: with typer 0.29 (which coerces parameters through it) it cost every call about 70 ms
HEAVY = ("torch", "ray", "scipy", "pandas", "matplotlib", "pydantic")


def imported_modules(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pbtnas", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=ENV)
    # `import time: self | cumulative | name`, the name indented by its depth
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return proc, names


@pytest.mark.parametrize("args", [
    ["--help"],
    ["check", "{root}/spaces/ganhard.nas"],
    ["compile", "{root}/spaces/ganhard.nas", "-o", "{tmp}/ganhard.json"],
    ["sample", "{root}/spaces/drqv2.nas", "--seed", "3"],
    ["ops"],
    ["fmt", "--check", "{root}/spaces"],
    ["search", "--help"],
])
def test_fast_commands_import_neither_torch_nor_ray(args: list[str], tmp_path: Path) -> None:
    proc, names = imported_modules([a.format(root=ROOT, tmp=tmp_path) for a in args], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pbtnas.cli" in names  # the measurement saw the CLI load
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert heavy == [], f"pbtnas {' '.join(args)} imported {heavy[:10]}"


def test_importing_pbtnas_is_cheap_and_its_names_resolve() -> None:
    code = ("import sys, pbtnas; before = set(sys.modules); pbtnas.compile_space; pbtnas.search; pbtnas.load_run; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'ray', 'scipy', 'matplotlib'}), "
            "sorted(m for m in before if m.startswith('pbtnas.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] []"


def test_every_command_lives_in_the_cli_package() -> None:
    group = get_command(app)
    commands = set(group.commands)  # type: ignore[attr-defined]
    assert commands == {"compile", "check", "sample", "show", "ops", "fmt", "lsp", "search", "soup", "evaluate",
                        "images", "report", "experiment", "export", "dashboard"}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.callback.__module__.startswith("pbtnas.cli."), name


def test_the_layers_have_no_typer() -> None:
    offenders = []
    for path in (ROOT / "pbtnas").rglob("*.py"):
        if path.parent.name == "cli" and path.parent.parent.name == "pbtnas":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in ("typer", "click") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_python_dash_m_pbtnas_is_the_cli(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "pbtnas", "sample", str(ROOT / "spaces" / "mlp.nas"), "--seed", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["space"] == "mlp"
    missing = subprocess.run([sys.executable, "-m", "pbtnas", "check", "missing.nas"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60, env=ENV)
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_sample_of_a_run_directory_is_the_old_spelling_of_images(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"task": "classify"}))
    runner = CliRunner()
    old = runner.invoke(app, ["sample", str(run)])
    new = runner.invoke(app, ["images", str(run)])
    for result in (old, new):  # both reach the same check: images come from GAN runs only
        assert result.exit_code == 2, result.output
        assert "draws images from a GAN run" in result.output
    assert RUN_SPELLING_NOTICE in old.output and RUN_SPELLING_NOTICE not in new.output
    missing = runner.invoke(app, ["images", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "is not a directory" in missing.output


def test_pbtnas_search_takes_every_option_of_the_command() -> None:
    from pbtnas.engine.commands import TASK_SHORTCUTS, search_values
    from pbtnas.engine.config import SearchConfig

    command = get_command(app).commands["search"]  # type: ignore[attr-defined]
    api_names = {"set_": "overrides", "task_option": "task_options"}
    known = set(SearchConfig.model_fields) | set(TASK_SHORTCUTS) | {"config", "resume"}
    params = [api_names.get(p.name, p.name) for p in command.params]
    assert len(params) > 30 and set(params) <= known, set(params) - known
    # the CLI's strings and Python's values come out as the same config values
    from_cli = search_values({"overrides": ["width=8"], "task_options": ["lr=0.01", "name=x"], "data": "digits",
                              "step_schedule": ["10:2"], "population": 4, "epochs": None})
    from_python = search_values({"overrides": {"width": "8"}, "task_options": {"lr": 0.01, "name": "x"},
                                 "data": "digits", "step_schedule": [{"until_epoch": 10, "step": 2}],
                                 "population": 4})
    assert from_cli == from_python == {"overrides": {"width": "8"}, "population": 4,
                                       "task_options": {"lr": 0.01, "name": "x", "data": "digits"},
                                       "step_schedule": [{"until_epoch": 10, "step": 2}]}


def test_pbtnas_search_refuses_an_unknown_option_with_the_configs_message(tmp_path: Path) -> None:
    import pbtnas

    with pytest.raises(pbtnas.UserError, match="populaton"):
        pbtnas.search(str(ROOT / "spaces" / "digits.nas"), populaton=4, out=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


END_PROCESS_PROBE = """
import atexit, sys, threading
atexit.register(lambda: print("exit handler ran", flush=True))
if sys.argv[1] == "thread":  # a non-daemon thread still working: the process must wait for it
    threading.Thread(target=lambda: (__import__("time").sleep(0.3), print("thread finished", flush=True))).start()
sys.argv = ["pbtnas", *sys.argv[2:]]
from pbtnas.cli.main import main
main()
"""


@pytest.mark.parametrize("mode", ["plain", "thread"])
def test_the_console_entry_runs_exit_handlers_and_keeps_the_exit_code(mode: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-c", END_PROCESS_PROBE, mode, "--help"], capture_output=True, text=True,
                        env=env, cwd=tmp_path, timeout=60)
    assert ok.returncode == 0 and "Usage" in ok.stdout and "exit handler ran" in ok.stdout
    assert ("thread finished" in ok.stdout) == (mode == "thread")
    bad = subprocess.run([sys.executable, "-c", END_PROCESS_PROBE, mode, "check", "missing.nas"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)
    assert bad.returncode == 1 and "E0002" in bad.stderr and "exit handler ran" in bad.stdout


@pytest.mark.slow
def test_an_in_process_search_leaves_the_callers_ray_running(ray_session: str, tmp_path: Path) -> None:
    """Only the console entry shuts Ray down when it ends the process: a program (or this suite) calling the CLI
    in-process keeps its Ray, and subprocess drivers can still join it at the same address."""
    import ray

    before = ray.get_runtime_context().gcs_address
    result = CliRunner().invoke(app, ["search", str(ROOT / "spaces" / "digits.nas"), "--population", "2", "--epochs",
                                      "1", "--step", "1", "--no-progress", "--no-tensorboard", "--address",
                                      ray_session, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert ray.is_initialized() and ray.get_runtime_context().gcs_address == before
