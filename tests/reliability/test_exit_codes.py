"""One exit-code table for every command (pbtnas.errors.EXIT_CODES, printed in the README): user errors are the
documented types and print one message; anything else is an internal error that says so; SIGINT and SIGTERM end
a search with the real run directory in the hint and `--resume` continues it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbtnas import cli
from pbtnas.errors import EXIT_CODES, EXIT_DIAGNOSTICS, EXIT_INTERNAL, EXIT_USER

ROOT = Path(__file__).resolve().parents[2]


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    return int(stop.value.code or 0), capsys.readouterr().err


def test_readme_states_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for code in EXIT_CODES:
        assert f"| {code} |" in readme, f"exit code {code} missing from the README's table"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["check", "missing.nas"], EXIT_DIAGNOSTICS, "no such file"),
        (["search", "missing.nas", "--no-progress"], EXIT_USER, "space file not found"),
        (["search", "bad.nas", "--no-progress"], EXIT_DIAGNOSTICS, "error["),  # the compiler refuses the space
        (["soup", "empty"], EXIT_USER, "not a pbtnas run directory"),
        (["evaluate", "NOTARUN"], EXIT_USER, "is not a directory"),
    ],
)
def test_user_errors_exit_with_their_code_and_no_traceback(
    args: list[str], code: int, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.nas").write_text("space bad\nnetwork n(x: [4]) -> [4] { return x >> linear(5) }\n")
    (tmp_path / "empty").mkdir()  # a directory with no run in it
    got, err = run_main(args, capsys)
    assert got == code, err
    assert words in err
    assert "Traceback" not in err and "internal error" not in err


def test_an_internal_bug_says_so_and_shows_its_traceback_with_debug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr("pbtnas.compiler.commands.compile_space", broken)
    space = str(ROOT / "spaces" / "digits.nas")
    code, err = run_main(["check", space], capsys)
    assert code == EXIT_INTERNAL
    assert "internal error (a bug in pbtnas" in err and "KeyError" in err and "--debug" in err
    assert "Traceback" not in err
    code, err = run_main(["check", space, "--debug"], capsys)
    assert code == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in err and "in broken" in err


def test_an_internal_bug_in_a_search_is_logged_with_its_traceback(
    ray_session: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object) -> None:
        raise ZeroDivisionError("a bug in the driver")

    monkeypatch.setattr("pbtnas.engine.driver.Driver.initialise", broken)
    run = tmp_path / "run"
    code, err = run_main(["search", str(ROOT / "spaces" / "digits.nas"), "--population", "4", "--epochs", "2",
                          "--no-progress", "--no-tensorboard", "--address", ray_session, "--out", str(run)], capsys)
    assert code == EXIT_INTERNAL and "ZeroDivisionError" in err
    log = (run / "log.txt").read_text()
    assert "internal error" in log and "Traceback" in log and "a bug in the driver" in log


def _wait_for_step(run: Path, proc: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the search ended before the signal: {proc.returncode}\n{err.decode()[-2000:]}")
        try:
            if int(json.loads((run / "progress.json").read_text()).get("epoch", 0)) >= 2:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no step was committed in time")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                      (signal.SIGINT, 130, "interrupted")])
def test_a_signal_ends_a_search_cleanly_and_resume_continues(
    signum: int, code: int, word: str, ray_session: str, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    # 8 steps of 2 epochs: the signal comes right after the first committed step (polled every 50 ms)
    args = [sys.executable, "-m", "pbtnas.cli", "search", str(ROOT / "spaces" / "digits.nas"), "--population", "4",
            "--epochs", "16", "--step", "2", "--no-progress", "--no-tensorboard", "--address", ray_session,
            "--out", str(run)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    _wait_for_step(run, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == code, text[-3000:]
    assert f"{word}" in text and f"pbtnas search --resume {run}" in text
    assert "*** SIGTERM received" not in text and "Traceback" not in text
    stopped_at = int(json.loads((run / "progress.json").read_text())["epoch"])
    assert 2 <= stopped_at < 16
    if signum != signal.SIGTERM:
        return  # resuming is the same code path for both signals; once is enough for the suite's time
    resumed = subprocess.run([sys.executable, "-m", "pbtnas.cli", "search", "--resume", str(run), "--no-progress",
                              "--address", ray_session], capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    progress = json.loads((run / "progress.json").read_text())
    assert progress["complete"] and int(progress["epoch"]) == 16
