from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # gan_fakes

torch.set_num_threads(1)  # the machine is shared; these tests are sized for one thread


@pytest.fixture(scope="session")
def gan_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder per test session: the digits classifier is trained once for all tests."""
    return tmp_path_factory.mktemp("gan-cache")
