"""A search driver run as a subprocess (the resume test kills it with SIGKILL): joins the test session's Ray."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from engine_double import DoubleSpace

from pbtnas.engine.commands import run_search
from pbtnas.engine.config import SearchConfig


def main() -> None:
    address, run_dir, cfg_json = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    cfg = SearchConfig.model_validate({**json.loads(cfg_json), "address": address})
    resume = (run_dir / "progress.json").exists()
    run_search(cfg, DoubleSpace(), run_dir, resume=resume)


if __name__ == "__main__":
    main()
