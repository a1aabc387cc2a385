"""Small run directories (export_runs.make_run), made once per session for the export tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # export_runs

from export_runs import make_run  # noqa: E402

torch.set_num_threads(1)  # the machine is shared; these tests are sized for one thread


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("digits") / "run", "digits.nas", seed=3)


@pytest.fixture(scope="session")
def gan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("gan") / "run", "ganhard.nas", {"gf_dim": "8", "df_dim": "8"}, seed=1)


@pytest.fixture(scope="session")
def rl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sets = {"obs_size": "20", "filters": "4", "hidden": "16"}
    return make_run(tmp_path_factory.mktemp("rl") / "run", "drqv2.nas", sets, seed=2)
