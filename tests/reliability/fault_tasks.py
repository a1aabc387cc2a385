"""Task doubles for the fault tests, loaded by name ("fault_tasks:FaultTask") inside Ray workers, which find
tests/reliability on their PYTHONPATH (test_faults.py puts it there before the session's Ray starts).

``FaultTask`` is the real classify task (tests/engine/engine_tasks.py's FailingClassify) plus two faults:

* ``nan_loss_gene0``: a member whose gene 0 has this value gets NaN weights when its step starting at
  ``fail_at_epoch`` begins, so the real training loop sees its loss become NaN (and raises MemberFailed itself);
* ``signal_dir``: the first time a member trains its step starting at ``fail_at_epoch``, the worker writes
  ``training_<pid>`` there and waits, so a test can SIGKILL that worker process from outside while it trains.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import torch
from engine_tasks import FailingClassify, FaultOptions, first_claim
from pydantic import BaseModel

from pbtnas.tasks.base import MemberState


class MoreFaultOptions(FaultOptions):
    nan_loss_gene0: int | None = None
    signal_dir: str | None = None
    wait_seconds: float = 20.0  # how long a signalled worker waits to be killed (the test fails if it is not)


class FaultTask(FailingClassify):
    name: ClassVar[str] = "fault-task"
    Options: ClassVar[type[BaseModel]] = MoreFaultOptions

    def train(
        self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        o = self.options
        assert isinstance(o, MoreFaultOptions)
        if o.signal_dir is not None and start_epoch == o.fail_at_epoch:
            if first_claim(Path(o.signal_dir) / "claimed"):  # the retrained member must not wait again
                (Path(o.signal_dir) / f"training_{os.getpid()}").write_text(str(start_epoch))
                time.sleep(o.wait_seconds)
        if o.nan_loss_gene0 is not None and genome.values[0] == o.nan_loss_gene0 and start_epoch == o.fail_at_epoch:
            # Diverged weights: every float tensor NaN, so the first loss of the step is NaN.
            model = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                     for k, v in state["model"].items()}
            state = {**state, "model": model}
        return super().train(state, genome, start_epoch, end_epoch, seed)
