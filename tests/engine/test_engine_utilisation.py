"""The overhead breakdown adds up: per worker, its parts fill the window exactly (synthetic stamps), and a real
search's population files carry the stamps it reads."""

from __future__ import annotations

import pytest

from pbtnas.engine.utilisation import breakdown


def job(worker: int, submitted: float, started: float, ended: float, train: float, wire: float) -> dict:
    return {"worker": worker, "timeline": [submitted, started, ended, ended + 0.01], "train_seconds": train,
            "eval_seconds": 0.0, "wire_seconds": wire}


def test_parts_fill_the_window_by_hand() -> None:
    jobs = [
        job(1, 0.0, 0.1, 1.1, train=0.9, wire=0.05),  # 0.1 Ray between jobs, 0.05 other
        job(1, 0.5, 1.2, 2.2, train=1.0, wire=0.0),  # queued behind the first: 0.1 Ray once free
        job(2, 0.0, 0.2, 1.0, train=0.8, wire=0.0),  # 0.2 Ray
        job(2, 1.5, 1.6, 2.0, train=0.4, wire=0.0),  # free at 1.0, handed at 1.5: 0.5 waiting, 0.1 Ray
        {"worker": 3, "timeline": None, "train_seconds": 5.0},  # no stamps: left out
    ]
    b = breakdown(jobs)
    assert b.workers == 2 and b.window_s == pytest.approx(2.21)
    assert b.compute_s == pytest.approx(3.1) and b.wire_s == pytest.approx(0.05)
    assert b.other_in_worker_s == pytest.approx(0.05)
    assert b.ray_between_jobs_s == pytest.approx(0.1 + 0.1 + 0.2 + 0.1)
    assert b.waiting_for_work_s == pytest.approx(0.5)
    assert b.tail_s == pytest.approx((2.21 - 2.2) + (2.21 - 2.0))
    parts = b.compute_s + b.wire_s + b.other_in_worker_s + b.ray_between_jobs_s + b.waiting_for_work_s + b.tail_s
    assert parts == pytest.approx(b.workers * b.window_s)
    assert sum(b.shares().values()) == pytest.approx(b.overhead_ratio - 1)


def test_a_run_without_stamps_is_refused() -> None:
    with pytest.raises(ValueError, match="no job carries timing stamps"):
        breakdown([{"worker": 1, "timeline": [None, None, None, None]}])
