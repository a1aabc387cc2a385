"""The classify task with what the cluster tests need to observe: each step's per-step output names the process
and Ray node that trained it (and travels back to the driver like a GAN's image grid), and the first attempt of a
chosen step can be held for a while, announcing itself with a marker file, so that the test can kill that
worker's node while the member is training. Loaded by name ("cluster_tasks:ClusterClassify") in Ray workers, which
find tests/reliability on their PYTHONPATH."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import ray
from engine_tasks import first_claim
from pydantic import BaseModel

from pbtnas.tasks.base import MemberState
from pbtnas.tasks.classify.task import ClassifyOptions, ClassifyTask


class ClusterOptions(ClassifyOptions):
    marker_dir: str | None = None  # where "training" markers go (the test's own folder, not the run directory)
    hold_epoch: int = -1  # the first attempt of a step starting at this epoch announces itself and waits ...
    hold_seconds: float = 0.0  # ... this long before training


class ClusterClassify(ClassifyTask):
    name: ClassVar[str] = "cluster-classify"
    Options: ClassVar[type[BaseModel]] = ClusterOptions

    def train(
        self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        o = self.options
        assert isinstance(o, ClusterOptions)
        if o.marker_dir is not None and start_epoch == o.hold_epoch:
            marker = Path(o.marker_dir) / f"train_{seed}_{start_epoch}.json"
            if first_claim(marker):  # only the first attempt holds; a retrained member goes straight on
                marker.write_text(json.dumps({"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}))
                time.sleep(o.hold_seconds)
        return super().train(state, genome, start_epoch, end_epoch, seed)

    def after_step(self, state: MemberState, genome: Any, uid: int, epoch: int) -> dict[str, bytes]:
        where = {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "uid": uid, "epoch": epoch}
        return {f"where/member_{uid:04d}/epoch_{epoch:04d}.json": json.dumps(where).encode()}
