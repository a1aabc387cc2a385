"""Every config of the experiment matrix loads through the engine's real validation (SearchConfig and the task's
own options), has its tiny twin, and is what scripts/make_configs.py writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pbtnas.engine.commands import resolve_task_options
from pbtnas.engine.config import load_config_file, validate_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
SEARCH_CONFIGS = sorted(p for p in CONFIGS.rglob("*.toml") if "bohb" not in p.parts)


def test_matrix_is_complete() -> None:
    paper = {p.stem for p in (CONFIGS / "paper").glob("*.toml")}
    for setting in ("cifar10_gan", "cifar10_ganhard", "stl10_gan", "stl10_ganhard", "quadruped_run", "walker_run",
                    "humanoid_run"):
        for alg in ("pbtnas", "random", "mutation"):
            assert f"{setting}_{alg}" in paper
    for setting in ("cifar10_ganhard", "quadruped_run"):
        for abl in ("no_mixing", "sp_1_0", "sp_0_1", "random_sp"):
            assert f"{setting}_{abl}" in paper
    assert {"cifar10_ganhard_pbtnas_pop12", "cifar10_ganhard_pbtnas_pop24", "cifar10_ganhard_pbtnas_pop36"} <= paper
    tiny = {p.stem for p in (CONFIGS / "tiny").glob("*.toml")}
    # every paper cell has a tiny twin of the same algorithm (population ablations are renamed to tiny sizes)
    assert {s for s in paper if "_pop" not in s} <= tiny


@pytest.mark.parametrize("path", SEARCH_CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_config_validates(path: Path) -> None:
    cfg = validate_config(load_config_file(path), str(path))
    assert (ROOT / cfg.space).exists()
    resolved = resolve_task_options(cfg)  # the task's pydantic options (presets, env, data)
    assert resolved.task == cfg.task
    if path.parent.name == "tiny" or "tiny" in path.parts:
        assert cfg.population <= 12 and cfg.epochs <= 12
        if cfg.task != "classify":
            assert cfg.task_options["preset"] == "tiny"


def test_ablations_say_what_they_change() -> None:
    def cfg(name: str):  # noqa: ANN202
        return validate_config(load_config_file(CONFIGS / "paper" / f"{name}.toml"))

    assert cfg("cifar10_ganhard_no_mixing").mix_with_self
    assert cfg("cifar10_ganhard_sp_1_0").effective_shrink_perturb() == cfg("quadruped_run_sp_1_0")\
        .effective_shrink_perturb()
    assert tuple(cfg("quadruped_run_sp_0_1").shrink_perturb) == (0.0, 1.0)
    rs = cfg("quadruped_run_random_sp")
    assert rs.algorithm == "random" and tuple(rs.shrink_perturb) == (0.4, 0.1)
    assert cfg("quadruped_run_random").effective_shrink_perturb() is None
    assert cfg("quadruped_run_pbtnas_pop6").tau == 0.4
    q = cfg("quadruped_run_pbtnas")
    assert (q.population, q.epochs, q.step, len(q.steps())) == (12, 300, 10, 23)  # 22 mixings + the last step
    h = cfg("humanoid_run_pbtnas")
    assert (h.epochs, h.step, len(h.steps())) == (1500, 100, 15)  # mixing 14 times


def test_gan_on_stl10_uses_the_authors_projection_layout() -> None:
    # the authors' stl_easy_* configs set if_stl_projections; their GanHard STL configs do not
    for kind in ("paper", "tiny"):
        for alg in ("pbtnas", "random", "mutation"):
            gan = validate_config(load_config_file(CONFIGS / kind / f"stl10_gan_{alg}.toml"))
            hard = validate_config(load_config_file(CONFIGS / kind / f"stl10_ganhard_{alg}.toml"))
            assert gan.overrides.get("stl_projections") == "on" and "stl_projections" not in hard.overrides
    paper = validate_config(load_config_file(CONFIGS / "paper" / "stl10_gan_pbtnas.toml"))
    assert (paper.overrides["gf_dim"], paper.overrides["bottom_width"], paper.task_options["data"]) == \
        ("270", "6", "stl10")


def test_generated_files_are_up_to_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_configs", ROOT / "scripts" / "make_configs.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.ROOT = tmp_path
    mod.main()
    for p in tmp_path.rglob("*.toml"):
        assert p.read_text() == (CONFIGS / p.relative_to(tmp_path)).read_text(), p
    assert len(list(tmp_path.rglob("*.toml"))) == len(list(CONFIGS.rglob("*.toml")))


BOHB_CONFIGS = sorted(CONFIGS.rglob("bohb/*.toml"))


@pytest.mark.parametrize("path", BOHB_CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_bohb_config_validates(path: Path) -> None:
    from pbtnas.baselines.bohb import load_bohb_config

    cfg = load_bohb_config(path)
    assert (ROOT / cfg.space).exists()
    # the same space/task/step as the engine's cell: validated by the engine's models too
    resolve_task_options(validate_config({"space": cfg.space, "task": cfg.task, "task_options": cfg.task_options,
                                          "overrides": cfg.overrides, "epochs": cfg.epochs, "step": cfg.step}))
    if "paper" in path.parts:
        assert cfg.samples == {24: 98, 12: 49}[cfg.budget_members]  # the reference's num_samples


def test_bohb_searcher_proposes_genomes_of_the_space() -> None:
    pytest.importorskip("hpbandster")
    CS = pytest.importorskip("ConfigSpace")
    from ray.tune.search.bohb import TuneBOHB

    cs = CS.ConfigurationSpace(seed=0)
    cs.add(CS.CategoricalHyperparameter("g0", [0, 1, 2]))
    cs.add(CS.CategoricalHyperparameter("g1", [0, 1]))
    searcher = TuneBOHB(space=cs, metric="fitness", mode="max", seed=0)
    for i in range(5):
        proposal = searcher.suggest(f"t{i}")
        assert int(proposal["g0"]) in (0, 1, 2) and int(proposal["g1"]) in (0, 1)
