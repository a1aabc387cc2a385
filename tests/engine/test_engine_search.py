"""End-to-end searches on Ray (the session's local Ray, 2 CPUs) with the space double and the classify task:
what the run directory records, the exact weights of children, baselines, failures. Dead workers, the driver
killed and resumed, damaged files: tests/reliability/test_faults.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from engine_double import DoubleSpace

import pbtnas
from pbtnas.engine.commands import resolve_task_options
from pbtnas.engine.commands import run_search as _run_search
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.rundir import load_state
from pbtnas.engine.seeding import Purpose, derive_seed
from pbtnas.engine.selection import selection_counts
from pbtnas.tasks.classify.data import load_digits_split

SPACE = DoubleSpace(n_layers=3, width=16)


def run_search(cfg: SearchConfig, space: Any, run: Path, resume: bool = False) -> Any:
    return _run_search(cfg, space, run, resume=resume, keep_workers=True)  # actors reused across tests


def config(**kw: Any) -> SearchConfig:
    base: dict[str, Any] = {"space": "double", "population": 4, "epochs": 6, "step": 2, "seed": 3, "workers": 2,
                            "progress": False, "task_options": {"train_limit": 160, "lr": 0.01}}
    base.update(kw)
    return resolve_task_options(SearchConfig.model_validate(base))


def snapshots(run: Path) -> dict[int, dict[str, Any]]:
    return {int(p.stem.split("_")[1]): json.loads(p.read_text()) for p in sorted((run / "population").glob("*.json"))}


def final_population(run: Path) -> list[tuple[int, tuple[int, ...], list, list]]:
    last = snapshots(run)[max(snapshots(run))]
    return [(m["uid"], tuple(m["genome"]), m["fitness"], m["lineage"]) for m in last["members"]]


@pytest.fixture(scope="module")
def pbtnas_run(ray_session: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "pbtnas"
    run_search(config(population=6, task_options={"train_limit": 200, "lr": 0.01}), SPACE, run)
    return run


def test_run_directory_and_selection_counts(pbtnas_run: Path) -> None:
    progress = json.loads((pbtnas_run / "progress.json").read_text())
    assert progress["complete"] and progress["epoch"] == 6
    snaps = snapshots(pbtnas_run)
    assert sorted(snaps) == [0, 2, 4, 6]
    n_replaced = selection_counts(6).n_replaced
    for epoch in (2, 4):
        events = snaps[epoch]["events"]
        assert len(events) == n_replaced == 1
        evaluated = {e["slot"]: e["fitness"] for e in snaps[epoch]["evaluated"]}
        worst = min(evaluated, key=lambda s: (evaluated[s], -s))
        assert events[0]["slot"] == worst
    assert snaps[6]["events"] == []  # no mixing after the last step
    # the last two steps are kept (the fallback if the newest is found damaged; tests/reliability)
    assert sorted(p.name for p in (pbtnas_run / "checkpoints").iterdir()) == ["epoch_0004", "epoch_0006"]
    for m in snaps[6]["members"]:
        assert m["choices"] == SPACE.to_json_genome(SPACE.validate(m["genome"]))["choices"]
        state = load_state(pbtnas_run / "checkpoints" / "epoch_0006" / f"member_{m['slot']:02d}.pt")
        assert set(state) == {"model", "shadows", "optim", "meta"} and state["meta"]["epochs"] == 6
    shares = json.loads((pbtnas_run / "lineage.json").read_text())
    assert [h["epoch"] for h in shares] == [0, 2, 4, 6]
    assert all(abs(sum(h["shares"].values()) - 1.0) < 1e-9 for h in shares)


def test_children_genes_lineage_and_weights_are_exact(pbtnas_run: Path) -> None:
    snaps = snapshots(pbtnas_run)
    for epoch in (2, 4):
        before = {m["uid"]: m for m in snaps[epoch - 2]["members"]}
        evaluated = {e["uid"]: e["fitness"] for e in snaps[epoch]["evaluated"]}
        after = {m["uid"]: m for m in snaps[epoch]["members"]}
        for ev in snaps[epoch]["events"]:
            base, donor, child = before[ev["base_uid"]], before[ev["donor_uid"]], after[ev["child_uid"]]
            assert base["uid"] != donor["uid"] and evaluated[base["uid"]] >= evaluated[donor["uid"]]
            inherited = set(ev["inherited"])
            for g in range(len(SPACE.genes)):
                source = donor if g in inherited else base
                assert child["genome"][g] == source["genome"][g]
                expected_lineage = source["lineage"][g] + ([child["uid"]] if g in inherited else [])
                assert child["lineage"][g] == expected_lineage


def test_child_weights_across_ray_are_exact(ray_session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the epoch-2 checkpoints (survivors' trained states and the child): the child's tensors must be the
    base's (bit-identical) or 0.4 donor + 0.1 fresh exactly, the fresh network being rebuilt here from the seed."""
    from pbtnas.engine.rundir import RunDir

    monkeypatch.setattr(RunDir, "prune_checkpoints", lambda self, keep_epoch: None)
    run = tmp_path / "keep"
    cfg = config(population=4, epochs=4, step=2, mix_probability=0.5)
    run_search(cfg, SPACE, run)
    snaps = snapshots(run)
    (ev,) = snaps[2]["events"]
    members2 = {m["uid"]: m for m in snaps[2]["members"]}
    slot_of = {m["uid"]: m["slot"] for m in snaps[0]["members"]}
    ck = run / "checkpoints" / "epoch_0002"
    child = load_state(ck / f"member_{ev['slot']:02d}.pt")
    base = load_state(ck / f"member_{slot_of[ev['base_uid']]:02d}.pt")  # a survivor: its trained state
    donor_state = load_state(ck / f"member_{slot_of[ev['donor_uid']]:02d}.pt")
    child_genome = SPACE.validate(members2[ev["child_uid"]]["genome"])
    fresh = SPACE.build(child_genome, seed=derive_seed(cfg.seed, Purpose.CHILD, 2, ev["child_uid"])).state_dict()
    prefixes = tuple(p for g in ev["inherited"] for p in SPACE.genes[g].prefixes)
    n_inherited = 0
    for key, value in child["model"].items():
        if prefixes and key.startswith(prefixes):
            n_inherited += 1
            if key.endswith(("sn_u", "sn_v", "num_batches_tracked")):
                continue
            assert torch.equal(value, donor_state["model"][key] * 0.4 + fresh[key] * 0.1), key
        else:
            assert torch.equal(value, base["model"][key]), key
    for key in child["optim"]:
        assert not (prefixes and key.startswith(prefixes))
        assert torch.equal(child["optim"][key]["exp_avg"], base["optim"][key]["exp_avg"])
    assert n_inherited == sum(1 for k in fresh if prefixes and k.startswith(prefixes))



def test_load_returns_the_best_network(pbtnas_run: Path) -> None:
    module, genome = pbtnas.load(pbtnas_run)
    info = json.loads((pbtnas_run / "best" / "info.json").read_text())
    cfg = json.loads((pbtnas_run / "config.json").read_text())
    data = load_digits_split(cfg["task_options"]["data_seed"], 0.25)
    with torch.no_grad():
        accuracy = float((module.classifier(data.x_val).argmax(1) == data.y_val).float().mean())
    assert accuracy == info["fitness"]
    final = snapshots(pbtnas_run)[6]["members"]
    assert info["fitness"] == max(m["fitness"][-1][1] for m in final)
    assert list(genome.values) == next(m["genome"] for m in final if m["uid"] == info["uid"])
    ever = json.loads((pbtnas_run / "best_ever" / "info.json").read_text())
    assert ever["fitness"] >= info["fitness"]


@pytest.mark.parametrize(
    "variant",
    [
        {"algorithm": "random"},
        {"algorithm": "random", "shrink_perturb": "0.4,0.1"},
        {"algorithm": "mutation"},
        {"algorithm": "pbtnas", "mix_with_self": True},
    ],
    ids=["random", "random+sp", "mutation", "mix-with-self"],
)
def test_baselines(ray_session: str, tmp_path: Path, variant: dict[str, Any]) -> None:
    run = tmp_path / "run"
    run_search(config(epochs=4, **variant), SPACE, run)
    snaps = snapshots(run)
    initial = {m["uid"]: tuple(m["genome"]) for m in snaps[0]["members"]}
    events = snaps[2]["events"]
    final = snaps[4]["members"]
    if variant["algorithm"] == "random":
        assert [(m["uid"], tuple(m["genome"])) for m in final] == list(initial.items())
        if "shrink_perturb" in variant:
            assert events == [{"kind": "shrink_perturb_all", "slots": [0, 1, 2, 3]}]
        else:
            assert events == []
    elif variant["algorithm"] == "mutation":
        (ev,) = events
        assert ev["mutation"] in ("copy", "weights", "architecture")
        diff = [g for g, (a, b) in enumerate(zip(initial[ev["base_uid"]], ev["new_genome"])) if a != b]
        assert diff == ([ev["gene"]] if ev["mutation"] == "architecture" else [])
    else:
        (ev,) = events
        assert ev["donor_uid"] == ev["base_uid"]
        assert tuple(ev["new_genome"]) == initial[ev["base_uid"]]


@pytest.mark.parametrize("mode", ["error", "nan"])
def test_a_failing_member_is_marked_and_replaced_and_the_run_goes_on(
    ray_session: str, tmp_path: Path, mode: str
) -> None:
    run = tmp_path / "run"
    opts = {"train_limit": 160, "lr": 0.01, "fail_gene0": 1, "fail_at_epoch": 0, "fail_mode": mode}
    summary = run_search(config(task="engine_tasks:FailingClassify", task_options=opts), SPACE, run)
    snaps = snapshots(run)
    failed = [e for e in snaps[2]["evaluated"] if e["status"] == "failed"]
    # stratified init with N = 4 and 4 ops: exactly one member starts with op 1 in layer 0, and it fails
    assert len(failed) == 1 and snaps[0]["members"][failed[0]["slot"]]["genome"][0] == 1
    assert failed[0]["fitness"] == "-inf"
    assert [e["slot"] for e in snaps[2]["events"]] == [failed[0]["slot"]]  # replaced at that selection
    assert all(m["status"] == "ok" for m in snaps[6]["members"])
    assert all(e["status"] == "ok" for e in snaps[4]["evaluated"] + snaps[6]["evaluated"])
    assert summary.failures == len(failed)
    assert "failed" in (run / "log.txt").read_text()


def test_soup_of_a_finished_run(pbtnas_run: Path) -> None:
    from pbtnas.engine.commands import soup

    info = soup(pbtnas_run)
    final = snapshots(pbtnas_run)[6]["members"]
    best = max(final, key=lambda m: (m["fitness"][-1][1], -m["slot"]))
    same = [m["uid"] for m in sorted(final, key=lambda m: (-m["fitness"][-1][1], m["slot"]))
            if m["genome"] == best["genome"]]
    assert info["candidates"] == same and info["ingredients"][0] == best["uid"]
    assert info["best_member_fitness"] == best["fitness"][-1][1]  # classify evaluation is deterministic
    assert info["fitness"] >= info["best_member_fitness"]
    assert len(info["trials"]) == len(same) - 1
    module, genome = pbtnas.load(pbtnas_run, "soup")
    assert list(genome.values) == best["genome"]


# ---- the best-ever step's population and its soup ------------------------------------------------------------------

@pytest.fixture(scope="module")
def kept_run(ray_session: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "kept"
    run_search(config(population=6, keep_best_ever_population=True, tensorboard=False,
                      task_options={"train_limit": 200, "lr": 0.01}), SPACE, run)
    return run


def test_best_ever_population_is_kept_as_trained(kept_run: Path) -> None:
    progress = json.loads((kept_run / "progress.json").read_text())
    best_ever = progress["best_ever"]
    epoch = best_ever["epoch"]
    folder = kept_run / "best_ever_population" / f"epoch_{epoch:04d}"
    assert sorted(p.name for p in (kept_run / "best_ever_population").iterdir()) == [folder.name]  # only that step
    kept = json.loads((folder / "population.json").read_text())["members"]
    # Every member evaluated at that step, with the fitness the step recorded (children made at that step are not
    # in it: they were never evaluated), the best-ever member among them.
    recorded = {e["uid"]: e["fitness"] for e in snapshots(kept_run)[epoch]["evaluated"] if e["status"] == "ok"}
    assert {m["uid"]: m["fitness"][-1] for m in kept} == {uid: [epoch, f] for uid, f in recorded.items()}
    assert max(recorded.values()) == best_ever["fitness"]
    # The states as trained: the best member's kept state gives exactly the network exported to best_ever/.
    best = next(m for m in kept if m["uid"] == best_ever["uid"])
    state = load_state(folder / f"member_{best['slot']:02d}.pt")
    module = SPACE.build(SPACE.validate(best["genome"]))
    module.load_state_dict(state["model"])
    exported = torch.load(kept_run / "best_ever" / "model.pt", weights_only=True)
    assert exported.keys() == module.state_dict().keys()
    assert all(torch.equal(exported[k], v) for k, v in module.state_dict().items())


def test_soup_of_the_best_ever_population(kept_run: Path) -> None:
    from pbtnas.engine.commands import soup

    progress = json.loads((kept_run / "progress.json").read_text())
    epoch = progress["best_ever"]["epoch"]
    kept = json.loads((kept_run / "best_ever_population" / f"epoch_{epoch:04d}" / "population.json").read_text())
    best = next(m for m in kept["members"] if m["uid"] == progress["best_ever"]["uid"])
    same = [m["uid"] for m in sorted(kept["members"], key=lambda m: (-m["fitness"][-1][1], m["slot"]))
            if m["genome"] == best["genome"]]
    info = soup(kept_run, population="best_ever")
    assert (info["population"], info["epoch"]) == ("best_ever", epoch)
    assert info["candidates"] == same and info["ingredients"][0] == best["uid"]
    assert info["best_member_fitness"] == progress["best_ever"]["fitness"]  # classify evaluation is deterministic
    assert info["fitness"] >= info["best_member_fitness"] and len(info["trials"]) == len(same) - 1
    module, genome = pbtnas.load(kept_run, "soup_best_ever")  # checksums verified
    assert list(genome.values) == best["genome"]


def test_best_ever_population_is_not_kept_by_default_for_classify(pbtnas_run: Path) -> None:
    from pbtnas.engine.commands import UserError, soup

    assert not (pbtnas_run / "best_ever_population").exists()
    with pytest.raises(UserError, match="keep_best_ever_population"):
        soup(pbtnas_run, population="best_ever")


def test_best_ever_population_survives_resume_and_stale_folders_go(kept_run: Path, tmp_path: Path) -> None:
    """A killed run may leave a best-ever population of a step it never committed (written before the commit
    point) and a half-written one: a resume removes both and keeps the committed one, which the finished run's
    pruning never deleted."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(kept_run, run)
    progress = json.loads((run / "progress.json").read_text())
    committed = run / "best_ever_population" / f"epoch_{progress['best_ever']['epoch']:04d}"
    before = {p.name: p.read_bytes() for p in committed.iterdir()}
    stale = run / "best_ever_population" / "epoch_0099"
    shutil.copytree(committed, stale)
    (run / "best_ever_population" / ".epoch_0008.partial").mkdir()
    cfg = config(population=6, keep_best_ever_population=True, tensorboard=False,
                 task_options={"train_limit": 200, "lr": 0.01})
    run_search(cfg, SPACE, run, resume=True)
    assert sorted(p.name for p in (run / "best_ever_population").iterdir()) == [committed.name]
    assert {p.name: p.read_bytes() for p in committed.iterdir()} == before


def test_soup_population_must_be_final_or_best_ever(tmp_path: Path) -> None:
    from pbtnas.engine.commands import UserError, soup

    with pytest.raises(UserError, match="final, best_ever"):
        soup(tmp_path, population="latest")


def test_launching_a_pool_releases_the_workers_earlier_searches_kept(pbtnas_run: Path) -> None:
    """The CLI launches its actors before the search (launch_pool); in a process whose earlier searches kept their
    workers (tests, notebooks), those hold both CPUs: the launch must release them, or the new actors never start."""
    from pbtnas.engine import commands
    from pbtnas.engine.timings import Timings

    assert commands._KEPT_POOLS, "the module's searches keep their workers"
    pool = commands.launch_pool(config(), Timings())
    try:
        assert not commands._KEPT_POOLS
        import ray

        # every launched actor starts (before the fix they waited for the kept ones' CPUs forever)
        assert ray.get([actor.ping.remote() for actor in pool.actors], timeout=120)
    finally:
        pool.shutdown()


def test_population_files_carry_the_jobs_timing_stamps(pbtnas_run: Path) -> None:
    from pbtnas.engine.utilisation import breakdown_of_run

    b = breakdown_of_run(pbtnas_run)
    assert b.workers >= 1 and b.compute_s > 0 and b.window_s > 0
    parts = b.compute_s + b.wire_s + b.other_in_worker_s + b.ray_between_jobs_s + b.waiting_for_work_s + b.tail_s
    assert parts == pytest.approx(b.workers * b.window_s, rel=1e-6)
