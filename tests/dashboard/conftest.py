"""A real run for the dashboard's tests (digits, population 4, 2 epochs, step 1), made once per session, and a
server of a folder holding it, a copy with hostile names and a GAN-style sample grid."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests_dashboard_support import serve

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="session")
def tiny_run(ray_session: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pbtnas.engine.commands import search

    out = tmp_path_factory.mktemp("dashboard") / "runs" / "digits-pbt"
    config = out.parent.parent / "tiny.toml"
    config.write_text(
        f'space = "{(ROOT / "spaces" / "digits.nas").as_posix()}"\ntask = "classify"\npopulation = 4\nepochs = 2\n'
        f'step = 1\nseed = 3\nworkers = 2\nprogress = false\ntensorboard = false\n'
        f'out = "{out.as_posix()}"\n\n[task_options]\ntrain_limit = 300\n')
    search({}, config, None)
    return out


def hostile_copy(run: Path, folder: Path) -> Path:
    """The run copied under a name that is markup, with markup as option names, config strings and a log line."""
    copy = folder / HOSTILE.replace("/", "_")
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints", "best", "best_ever"))
    for snap in (copy / "population").glob("epoch_*.json"):
        data = json.loads(snap.read_text())
        for m in data["members"]:
            m["choices"] = {name: HOSTILE + value for name, value in m["choices"].items()}
        snap.write_text(json.dumps(data))
    cfg = json.loads((copy / "config.json").read_text())
    cfg["task_options"]["label_column"] = HOSTILE
    (copy / "config.json").write_text(json.dumps(cfg))
    with (copy / "log.txt").open("a") as log:
        log.write(f"2026-01-01 00:00:00,000 WARNING {HOSTILE}\n")
    return copy


def sample_grid(run: Path) -> Path:
    """A grid where the GAN task's after_step writes one (RUN/workdirs/generated/member_UUUU/epoch_EEEE.png)."""
    import matplotlib.image
    import numpy as np

    final = json.loads(sorted((run / "population").glob("epoch_*.json"))[-1].read_text())
    uid = final["members"][0]["uid"]  # the page shows the grids of the current population's members
    path = run / "workdirs" / "generated" / f"member_{uid:04d}" / f"epoch_{final['epoch']:04d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    matplotlib.image.imsave(path, rng.random((48, 48, 3)))
    return path


@pytest.fixture(scope="session")
def runs_folder(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("served")
    run = folder / "digits-pbt"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    sample_grid(run)
    hostile_copy(tiny_run, folder)
    (folder.parent / "secret.txt").write_text("outside the folder")
    return folder


@pytest.fixture(scope="session")
def served(runs_folder: Path) -> Iterator[str]:
    yield from serve(runs_folder)
