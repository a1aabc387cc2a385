"""Searches of the classify task on Ray (the session's): a population that fails names the cause, a data file
that only the workers' full load finds malformed ends the run with its message, and MNIST-1D end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pbtnas
from datafiles import write_png_folder
from pbtnas.compiler import compile_space
from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.errors import UserError

HERE = Path(__file__).parent
pytestmark = pytest.mark.slow


def config(space: Path, **kw: Any) -> SearchConfig:
    base: dict[str, Any] = {"space": str(space), "population": 2, "epochs": 2, "step": 1, "workers": 2,
                            "progress": False, "tensorboard": False}
    return resolve_task_options(SearchConfig.model_validate({**base, **kw}))


def test_a_population_that_fails_names_the_first_cause(ray_session: str, tmp_path: Path) -> None:
    # run_search skips the CLI's preflight: the 3-channel network meets the 1-channel digits in the workers
    space = compile_space(HERE / "spaces" / "image.nas", {"classes": "10"})
    cfg = config(HERE / "spaces" / "image.nas", task_options={"train_limit": 64})
    with pytest.raises(UserError) as err:
        run_search(cfg, space, tmp_path / "run", keep_workers=True)
    message = str(err.value)
    assert "every member of the population failed" in message
    assert "expected input[64, 1, 8, 8] to have 3 channels" in message and "log.txt" in message


def test_a_file_only_the_full_load_finds_broken_is_one_message(ray_session: str, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    write_png_folder(folder, classes=3, per_class=4)
    (folder / "class_2" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(UserError, match=r"the task cannot start: image .*3\.png cannot be decoded"):
        pbtnas.search(HERE / "spaces" / "image.nas", data=f"imagefolder:{folder}", population=2, epochs=1,
                      step=1, workers=2, progress=False, tensorboard=False, out=str(tmp_path / "run"))
