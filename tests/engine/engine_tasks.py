"""Task doubles for fault tests: the real classify task with injected failures. Loaded by name
("engine_tasks:FailingClassify") inside Ray workers, which find tests/engine on their PYTHONPATH."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from pbtnas.tasks.base import MemberFailed, MemberState
from pbtnas.tasks.classify.task import ClassifyOptions, ClassifyTask


def first_claim(path: Path) -> bool:
    """True for the one caller (of all worker processes) that creates ``path``: a fault injected on the first attempt
    only, so that the retried member goes straight on."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class FaultOptions(ClassifyOptions):
    fail_gene0: int | None = None  # members whose gene 0 has this value fail ...
    fail_at_epoch: int = 2  # ... when training starts at this epoch
    fail_mode: str = "raise"  # raise MemberFailed | "error" (any exception) | "nan" (non-finite fitness)


class FailingClassify(ClassifyTask):
    name: ClassVar[str] = "failing-classify"
    Options: ClassVar[type[BaseModel]] = FaultOptions

    def _fails(self, genome: Any, start_epoch: int) -> bool:
        o = self.options
        assert isinstance(o, FaultOptions)
        return o.fail_gene0 is not None and genome.values[0] == o.fail_gene0 and start_epoch == o.fail_at_epoch

    def train(
        self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        o = self.options
        assert isinstance(o, FaultOptions)
        if self._fails(genome, start_epoch) and o.fail_mode == "raise":
            raise MemberFailed("diverged (injected)")
        if self._fails(genome, start_epoch) and o.fail_mode == "error":
            raise RuntimeError("boom (injected)")
        new_state, metrics = super().train(state, genome, start_epoch, end_epoch, seed)
        new_state["meta"]["nan_next_eval"] = bool(self._fails(genome, start_epoch) and o.fail_mode == "nan")
        return new_state, metrics

    def evaluate(self, state: MemberState, genome: Any, seed: int) -> float:
        if state["meta"].get("nan_next_eval"):
            return math.nan
        return super().evaluate(state, genome, seed)
