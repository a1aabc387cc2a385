"""A tiny GAN search end to end (spaces/gan.nas at width 8 on the digits, two steps on Ray): the gan task keeps the
best-ever step's population by default, and `pbtnas soup --population best_ever` builds and saves its soup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import pbtnas
from pbtnas.cli import app
from pbtnas.compiler import compile_space
from pbtnas.engine.commands import resolve_task_options, run_search
from pbtnas.engine.config import SearchConfig

ROOT = Path(__file__).resolve().parents[2]
SETS = {"gf_dim": "8", "df_dim": "8", "bottom_width": "2"}


@pytest.fixture(scope="module")
def gan_run(ray_session: str, gan_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("gan") / "run"
    cfg = resolve_task_options(SearchConfig.model_validate({
        "space": str(ROOT / "spaces" / "gan.nas"), "overrides": SETS, "task": "gan", "population": 4, "epochs": 2,
        "step": 1, "seed": 5, "workers": 2, "progress": False, "tensorboard": False,
        "task_options": {"preset": "tiny", "max_train_images": 96, "fid_images": 200, "fid_real_images": 200,
                         "cache_dir": str(gan_cache), "device": "cpu"},
    }))
    assert cfg.keep_best_ever_population is None and cfg.keeps_best_ever_population()  # the gan task's default
    run_search(cfg, compile_space(ROOT / "spaces" / "gan.nas", SETS), run, keep_workers=True)
    return run


def test_gan_run_keeps_its_best_ever_population_and_soups_it(gan_run: Path) -> None:
    progress = json.loads((gan_run / "progress.json").read_text())
    epoch = progress["best_ever"]["epoch"]
    folder = gan_run / "best_ever_population" / f"epoch_{epoch:04d}"
    assert [p.name for p in (gan_run / "best_ever_population").iterdir()] == [folder.name]
    kept = json.loads((folder / "population.json").read_text())["members"]
    assert len(kept) == 4 and all(m["fitness"][-1][0] == epoch for m in kept)
    result = CliRunner().invoke(app, ["soup", str(gan_run), "--population", "best_ever"])
    assert result.exit_code == 0, result.output
    info = json.loads((gan_run / "soup_best_ever" / "info.json").read_text())
    best = next(m for m in kept if m["uid"] == progress["best_ever"]["uid"])
    assert info["population"] == "best_ever" and info["epoch"] == epoch and info["ingredients"][0] == best["uid"]
    assert info["candidates"] == [m["uid"] for m in sorted(kept, key=lambda m: (-m["fitness"][-1][1], m["slot"]))
                                  if m["genome"] == best["genome"]]
    # The soup's fitness is re-measured with the soup seed; it never falls below the best member's under that seed.
    assert info["fitness"] >= info["best_member_fitness"]
    module, genome = pbtnas.load(gan_run, "soup_best_ever")  # checksums verified
    assert list(genome.values) == best["genome"]
    with torch.no_grad():
        assert tuple(module.generator(torch.randn(2, 120)).shape) == (2, 3, 16, 16)
