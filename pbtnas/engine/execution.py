"""Execution on Ray: a pool of long-lived actors, each holding one task instance (data loaded once), training
members whose states travel through Ray's object store as dicts of tensors.

Starts a local Ray (dashboard off, its servers on 127.0.0.1 only) unless one is running or ``address`` names a
cluster.
A worker process that dies is replaced by a new actor and the member it was training is retrained from its last
checkpoint (``reload``), up to ``max_retries`` times per member and step; after that the member is marked failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import ObjectLostError, RayActorError, WorkerCrashedError

from pbtnas.engine.raycluster import RayBind, start_or_join
from pbtnas.engine.runner import MemberRunner

__all__ = ["ActorPool", "TrainJob", "TrainOutcome", "ensure_ray", "default_workers"]

log = logging.getLogger("pbtnas.engine")

DEAD_WORKER = (RayActorError, WorkerCrashedError)
LOST_OBJECT = (ObjectLostError,)  # includes OwnerDiedError and ObjectReconstructionFailedError


def ensure_ray(address: str | None, bind: RayBind = "loopback") -> None:
    """Start a local Ray, loopback-only unless ``bind="all"``, or join ``address`` (see ``raycluster``)."""
    if ray.is_initialized():
        return
    start_or_join(address, bind)


def default_workers(population: int, cpus_per_member: float, gpus_per_member: float) -> int:
    resources = ray.cluster_resources()
    n = int(resources.get("CPU", 1) // cpus_per_member)
    if gpus_per_member > 0:
        n = min(n, int(resources.get("GPU", 0) // gpus_per_member))
    return max(1, min(population, n))


@dataclass
class TrainJob:
    slot: int
    state: Any  # ObjectRef of a MemberState
    values: list[int]
    start: int
    end: int
    train_seed: int
    eval_seed: int
    uid: int | None = None  # the member's id, for the task's per-step outputs (image grids, videos)
    attempts: int = 0


@dataclass
class TrainOutcome:
    slot: int
    state: Any  # ObjectRef
    report: dict[str, Any]


class ActorPool:
    def __init__(
        self,
        n_workers: int,
        runner_kwargs: dict[str, Any],
        cpus_per_member: float,
        gpus_per_member: float,
    ) -> None:
        self._kwargs = runner_kwargs
        # SPREAD: on a cluster the actors go to different nodes (each loads the task's data once), not all to the
        # driver's node until it is full; on one machine it changes nothing.
        self._options = {"num_cpus": cpus_per_member, "num_gpus": gpus_per_member, "max_restarts": 0,
                         "scheduling_strategy": "SPREAD"}
        self._cls = ray.remote(MemberRunner)
        self.actors = [self._new_actor() for _ in range(n_workers)]
        self.restarts = 0
        self._driver_node = ray.get_runtime_context().get_node_id()
        # Replacement actors not yet started (ping ref -> index). They take work only once up: after a lost node
        # there may be no room for them until it returns, and the members go to the actors that are left.
        self._starting: dict[Any, int] = {}
        self._failed_starts = 0
        ray.get([a.ping.remote() for a in self.actors])  # fail early (bad task options, import errors)

    def reconfigure(self, runner_kwargs: dict[str, Any]) -> None:
        """Give every actor a new space and task without restarting its process (imports and Ray worker start-up
        are the expensive part of an actor); used when one process runs several searches (tests, benchmarks)."""
        self._kwargs = runner_kwargs
        ray.get([a.configure.remote(**runner_kwargs) for a in self.actors])

    def _new_actor(self) -> Any:
        kwargs = dict(self._kwargs, threads=max(1, int(self._options["num_cpus"])))
        return self._cls.options(**self._options).remote(**kwargs)

    def _replace(self, index: int) -> None:
        try:
            ray.kill(self.actors[index])
        except Exception:  # already gone
            pass
        self.actors[index] = self._new_actor()
        self._starting[self.actors[index].ping.remote()] = index
        self.restarts += 1

    def _started(self, ping_ref: Any) -> int | None:
        """The index of a replacement whose start-up ``ping_ref`` answered, if it is now ready for work."""
        index = self._starting.pop(ping_ref)
        try:
            ray.get(ping_ref)
            return index
        except DEAD_WORKER as err:  # died while starting (its node too was lost): start another, a few times
            self._failed_starts += 1
            if self._failed_starts > 3 * len(self.actors):
                raise RuntimeError(f"{self._failed_starts} replacement workers died while starting: {err}") from None
            self._replace(index)
            return None

    def _ready(self) -> list[int]:
        """Indices of actors that can take work now (replacements that have come up since are promoted)."""
        if self._starting:
            done, _ = ray.wait(list(self._starting), num_returns=len(self._starting), timeout=0)
            for ref in done:
                self._started(ref)
        if len(self._starting) == len(self.actors):  # nothing is up: wait for one
            ref = ray.wait(list(self._starting), num_returns=1)[0][0]
            self._started(ref)
            return self._ready()
        starting = set(self._starting.values())
        return [i for i in range(len(self.actors)) if i not in starting]

    def __len__(self) -> int:
        return len(self.actors)

    def run_calls(
        self, method: str, calls: list[tuple[Any, ...]], consume: Callable[[int, Any, Any], None]
    ) -> list[Any]:
        """Call ``method`` once per argument tuple, spread over the pool; ``consume(i, ref, value)`` sees each
        result in order (then the driver drops the value, so large states are not all held at once). A dead
        actor is replaced and its calls are re-run (arguments are ObjectRefs the driver still holds)."""
        submitted = []
        ready = self._ready()
        for i, args in enumerate(calls):
            index = ready[i % len(ready)]
            submitted.append((index, getattr(self.actors[index], method).remote(*args)))
        refs: list[Any] = []
        for i, (index, ref) in enumerate(submitted):
            for attempt in range(3):
                try:
                    value = ray.get(ref)
                    break
                except DEAD_WORKER:
                    if attempt == 2:
                        raise
                    log.warning("worker %d died during %s; restarting it", index, method)
                    if self._is_dead(index):
                        self._replace(index)
                    index = self._ready()[0]
                    ref = getattr(self.actors[index], method).remote(*calls[i])
            consume(i, ref, value)
            refs.append(ref)
        return refs

    def _keep_near_driver(self, state_ref: Any, node: str | None) -> Any:
        """A state trained on another node lives only in that node's object store until the driver reads it, and
        an actor's output cannot be reconstructed: if the node is lost, so is the member. A copy owned by the
        driver on its own node survives that. It costs the transfer the step's checkpoint needs anyway, and
        nothing when the member trained on the driver's node (one machine)."""
        if node is None or node == self._driver_node:
            return state_ref
        return ray.put(ray.get(state_ref))

    def _is_dead(self, index: int) -> bool:
        try:
            ray.get(self.actors[index].ping.remote(), timeout=30)
            return False
        except Exception:
            return True

    def train(
        self,
        jobs: list[TrainJob],
        reload: Callable[[int], Any],
        max_retries: int,
        on_done: Callable[[TrainOutcome], None] | None = None,
    ) -> dict[int, TrainOutcome]:
        """Train and evaluate every job; each free actor takes the next job. Returns outcomes by slot."""
        queue = list(jobs)
        running: dict[Any, tuple[int, TrainJob, Any]] = {}  # report ref -> (actor index, job, state ref)
        free = self._ready()
        outcomes: dict[int, TrainOutcome] = {}
        while queue or running:
            while queue and free:
                index, job = free.pop(0), queue.pop(0)
                state_ref, report_ref = (
                    self.actors[index]
                    .train_eval.options(num_returns=2)
                    .remote(job.state, job.values, job.start, job.end, job.train_seed, job.eval_seed, job.uid)
                )
                running[report_ref] = (index, job, state_ref)
            ready, _ = ray.wait([*running, *self._starting], num_returns=1)
            if ready[0] in self._starting:  # a replacement came up
                started = self._started(ready[0])
                if started is not None:
                    free.append(started)
                continue
            report_ref = ready[0]
            index, job, state_ref = running.pop(report_ref)
            try:
                report = ray.get(report_ref)
            except DEAD_WORKER as err:
                self._replace(index)  # joins `free` once started; the job goes to whichever actor is free first
                job.attempts += 1
                if job.attempts > max_retries:
                    outcome = TrainOutcome(
                        job.slot, job.state, {"failed": True, "error": f"worker died {job.attempts} times: {err}"}
                    )
                    outcomes[job.slot] = outcome
                    if on_done:
                        on_done(outcome)
                    continue
                log.warning("worker died while training slot %d; retraining it from its checkpoint", job.slot)
                job.state = reload(job.slot)
                queue.insert(0, job)
                continue
            free.append(index)
            try:
                state_ref = self._keep_near_driver(state_ref, report.get("node"))
            except LOST_OBJECT:  # its node died since it reported: as if it had died while training
                job.state = reload(job.slot)
                queue.insert(0, job)
                continue
            outcome = TrainOutcome(job.slot, state_ref, report)
            outcomes[job.slot] = outcome
            if on_done:
                on_done(outcome)
        return outcomes

    def shutdown(self) -> None:
        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:
                pass
