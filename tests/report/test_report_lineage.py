"""Layer origins (paper Appendix A) and ancestry from a hand-made population history written as a run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pbtnas.report.lineage import ancestry, architecture_rows, origin_shares, origin_table
from pbtnas.report.load import load_run

GENES = ["net.a", "net.b", "net.c"]
OPTIONS = [["x", "y"], ["p", "q", "r"], ["u", "v"]]


def member(slot: int, uid: int, genome: list[int], lineage: list[list[int]], fit: list) -> dict:
    return {"slot": slot, "uid": uid, "genome": genome, "lineage": lineage, "fitness": fit, "status": "ok",
            "born_epoch": 0, "origin": {}, "error": None,
            "choices": {g: OPTIONS[i][v] for i, (g, v) in enumerate(zip(GENES, genome))}}


def write_history(root: Path) -> None:
    """N = 4, 3 genes. Epoch 0: members 0..3. After step 1 (epoch 2) member 1 (worst) is replaced by child 4 =
    base 0 + gene 2 from donor 3. After step 2 (epoch 4) member 2 is replaced by child 5 = base 4 + gene 0 from
    donor 3."""
    init = [member(i, i, [i % 2, i % 3, i % 2], [[i], [i], [i]], []) for i in range(4)]
    ev1 = [{"slot": s, "uid": s, "fitness": f, "status": "ok", "metrics": {"train_loss": 1.0}}
           for s, f in enumerate([0.9, 0.1, 0.5, 0.8])]
    child4 = member(1, 4, [0, 0, 1], [[0], [0], [3, 4]], [])
    e2 = [init[0], child4, init[2], init[3]]
    ev2 = [{"slot": 0, "uid": 0, "fitness": 0.91, "status": "ok", "metrics": {}},
           {"slot": 1, "uid": 4, "fitness": 0.95, "status": "ok", "metrics": {}},
           {"slot": 2, "uid": 2, "fitness": 0.2, "status": "ok", "metrics": {}},
           {"slot": 3, "uid": 3, "fitness": "-inf", "status": "failed", "metrics": {}}]
    child5 = member(2, 5, [1, 0, 1], [[3, 5], [0], [3, 4]], [])
    e4 = [init[0], child4, child5, init[3]]
    snaps = [
        {"epoch": 0, "members": init, "evaluated": [], "events": [{"kind": "init"}], "wall_seconds": 0.0},
        {"epoch": 2, "members": e2, "evaluated": ev1, "wall_seconds": 1.0,
         "events": [{"kind": "pbtnas", "slot": 1, "child_uid": 4, "replaced_uid": 1, "base_uid": 0, "donor_uid": 3,
                     "inherited": [2]}]},
        {"epoch": 4, "members": e4, "evaluated": ev2, "wall_seconds": 1.0,
         "events": [{"kind": "pbtnas", "slot": 2, "child_uid": 5, "replaced_uid": 2, "base_uid": 4, "donor_uid": 3,
                     "inherited": [0]}]},
    ]
    (root / "population").mkdir(parents=True)
    for s in snaps:
        (root / "population" / f"epoch_{s['epoch']:04d}.json").write_text(json.dumps(s))
    (root / "config.json").write_text(json.dumps({"space": "spaces/x.nas", "algorithm": "pbtnas", "population": 4,
                                                  "epochs": 4, "step": 2, "seed": 3, "task": "classify"}))
    (root / "progress.json").write_text(json.dumps({"epoch": 4, "complete": False}))


def test_origin_shares_by_hand(tmp_path: Path) -> None:
    write_history(tmp_path)
    run = load_run(tmp_path)
    epochs, origins, shares = origin_table(run)
    assert epochs == [0, 2, 4] and origins == [0, 1, 2, 3]
    # 12 (member, gene) pairs. epoch 0: 3 each. epoch 2: members 0, 4 = (0, 0, 3), 2, 3 -> origin 0: 3 + 2 = 5,
    # 1: 0, 2: 3, 3: 1 + 3 = 4.
    # epoch 4: member 5 = (3, 0, 3) -> 0: 3 + 2 + 1 = 6, 2: 0, 3: 3 + 1 + 2 = 6.
    assert shares == [[3 / 12, 5 / 12, 6 / 12], [3 / 12, 0.0, 0.0], [3 / 12, 3 / 12, 0.0], [3 / 12, 4 / 12, 6 / 12]]
    for i in range(3):
        assert sum(row[i] for row in shares) == pytest.approx(1.0)
    assert origin_shares(run.snapshots[-1]["members"]) == {0: 0.5, 3: 0.5}


def test_results_best_and_ancestry(tmp_path: Path) -> None:
    write_history(tmp_path)
    run = load_run(tmp_path)
    assert run.final_fitness == 0.95 and run.best_ever_fitness == 0.95
    assert run.best_so_far() == [(2, 0.9), (4, 0.95)]
    assert run.algorithm == "PBT-NAS" and run.seed == 3 and not run.complete
    # the final members, best first: uid 4 (0.95) then uid 0 (0.91); the failed uid 3 ranks last
    assert [m["uid"] for m in run.final_members()][:2] == [4, 0]
    rows = architecture_rows(run)
    assert [(r.gene, r.best, r.second, r.differs) for r in rows] == [
        ("net.a", "x", "x", False), ("net.b", "p", "p", False), ("net.c", "v", "u", True)]
    assert rows[2].origin == 3 and rows[2].path == (3, 4)
    chain = ancestry(run)
    assert [(a.uid, a.epoch, a.kind, a.base, a.donor, a.genes) for a in chain] == [
        (4, 2, "pbtnas", 0, 3, ("net.c",)), (0, 0, "init", None, None, ())]
    assert [a.uid for a in ancestry(run, 5)] == [5, 4, 0]


def test_selection_dynamics_by_hand(tmp_path: Path) -> None:
    from pbtnas.report.dynamics import pooled, selection_dynamics

    write_history(tmp_path)
    dyn = selection_dynamics(load_run(tmp_path))
    # child 4 is made at epoch 2 from base 0 (0.9 then); it scores 0.95 at epoch 4: recovered at its first evaluation.
    # child 5 is made at epoch 4 from base 4 and is never evaluated.
    c4, c5 = dyn.children
    assert (c4.uid, c4.born_epoch, c4.base_uid, c4.base_fitness, c4.fitness) == (4, 2, 0, 0.9, ((4, 0.95),))
    assert c4.recovery_steps == 1 and c4.survived
    assert c5.fitness == () and c5.recovery_steps is None and c5.survived
    assert dyn.made == 2 and len(dyn.evaluated) == 1
    assert dyn.recovered_within(1) == 1.0 and dyn.never_recovered == 0.0 and dyn.median_recovery_steps == 1.0
    assert dyn.survived == 2 / 4  # children 4 and 5 among the final 4
    assert dyn.final_best_uid == 4 and not dyn.final_best_is_initial
    both = pooled([load_run(tmp_path), load_run(tmp_path)])
    assert both["children"] == 4 and both["final_best_is_initial"] == 0 and both["runs"] == 2


def test_recovery_counts_evaluations_until_the_base_is_reached() -> None:
    from pbtnas.report.dynamics import ChildHistory

    slow = ChildHistory(7, 2, 1, 0.8, ((4, 0.5), (6, float("-inf")), (8, 0.8)), survived=False)
    never = ChildHistory(8, 2, 1, 0.8, ((4, 0.5), (6, 0.79)), survived=False)
    assert slow.recovery_steps == 3 and never.recovery_steps is None
