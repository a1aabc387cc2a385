"""TensorBoard logging: per-member tags with uid and genome hash, values at the right epochs, read back with
TensorBoard's own event reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pbtnas.engine.tensorboard import backfill, close, genome_hash, log_step, member_tag


def read_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


class M:  # the engine's Member has at least these
    def __init__(self, uid: int, genome: tuple[int, ...]) -> None:
        self.uid, self.genome = uid, genome


def test_genome_hash_is_stable_and_distinct() -> None:
    assert genome_hash([1, 2, 3]) == genome_hash((1, 2, 3))
    assert len(genome_hash([0])) == 8 and genome_hash([1, 2, 3]) != genome_hash([3, 2, 1])
    assert member_tag(7, [1, 2]) == f"member/uid_0007-g{genome_hash([1, 2])}"


def test_log_step_writes_every_member(tmp_path: Path) -> None:
    members = [M(0, (1, 0)), M(1, (0, 2)), M(2, (1, 0))]
    log_step(tmp_path, 2, [
        {"uid": 0, "fitness": 0.5, "status": "ok", "metrics": {"train_loss": 1.5}},
        {"uid": 1, "fitness": 0.7, "status": "ok", "metrics": {"train_loss": 1.2}},
        {"uid": 2, "fitness": "-inf", "status": "failed", "metrics": {}},
    ], members)
    log_step(tmp_path, 4, [{"uid": 0, "fitness": 0.6, "status": "ok", "metrics": {"train_loss": 1.0}},
                           {"uid": 1, "fitness": 0.65, "status": "ok", "metrics": {}}], members)
    close(tmp_path)
    s = read_scalars(tmp_path)
    t0, t1 = member_tag(0, (1, 0)), member_tag(1, (0, 2))
    assert s[f"{t0}/fitness"] == [(2, 0.5), (4, pytest.approx(0.6))]
    assert s[f"{t0}/train_loss"] == [(2, 1.5), (4, 1.0)]
    assert s[f"{t1}/fitness"] == [(2, pytest.approx(0.7)), (4, pytest.approx(0.65))]
    assert f"{member_tag(2, (1, 0))}/fitness" not in s  # a failed member has no fitness point
    assert s["population/best"] == [(2, pytest.approx(0.7)), (4, pytest.approx(0.65))]
    assert s["population/best_so_far"] == [(2, pytest.approx(0.7)), (4, pytest.approx(0.7))]
    assert s["population/failed"] == [(2, 1.0), (4, 0.0)]


def test_backfill_uses_the_genomes_of_the_trained_population(tmp_path: Path) -> None:
    pop = tmp_path / "population"
    pop.mkdir()
    m = lambda uid, g: {"uid": uid, "genome": g}  # noqa: E731
    (pop / "epoch_0000.json").write_text(json.dumps({"epoch": 0, "members": [m(0, [0]), m(1, [1])],
                                                     "evaluated": []}))
    # after step 1 member 1 was replaced by child 2 with genome [0]; the evaluation was of uids 0 and 1
    (pop / "epoch_0001.json").write_text(json.dumps({"epoch": 1, "members": [m(0, [0]), m(2, [0])],
                                                     "evaluated": [{"uid": 0, "fitness": 0.9}, {"uid": 1, "fitness": 0.1}]}))
    (pop / "epoch_0002.json").write_text(json.dumps({"epoch": 2, "members": [m(0, [0]), m(2, [0])],
                                                     "evaluated": [{"uid": 0, "fitness": 0.95}, {"uid": 2, "fitness": 0.97}]}))
    assert backfill(tmp_path) == 2
    s = read_scalars(tmp_path)
    assert s[f"{member_tag(1, [1])}/fitness"] == [(1, pytest.approx(0.1))]
    assert s[f"{member_tag(2, [0])}/fitness"] == [(2, pytest.approx(0.97))]
