"""Run directories for the export tests, made without a search: a compiled space, a genome and its built weights
written where a finished run writes them (RUN/space.json, RUN/best/)."""

from __future__ import annotations

from pathlib import Path

import torch

SPACES = Path(__file__).resolve().parents[2] / "spaces"


def make_run(root: Path, space_file: str, sets: dict[str, str] | None = None, seed: int = 0) -> Path:
    import numpy as np

    from pbtnas.compiler.space import CompiledSpace, compile_space
    from pbtnas.engine.rundir import RunDir, atomic_write_json
    from pbtnas.engine.runner import loader_name

    space = compile_space(SPACES / space_file, sets)
    genome = space.random_genome(np.random.default_rng(seed))
    model = space.build(genome, seed=seed)
    with torch.no_grad():  # BatchNorm statistics other than the fresh (0, 1), so eval mode is exercised
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    run = RunDir(root)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run.space_path, {"loader": loader_name(CompiledSpace), "artifact": space.to_json()})
    run.write_best("best", model.state_dict(), space.to_json_genome(genome), {"fitness": 0.0})
    return root
