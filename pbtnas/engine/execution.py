"""Execution on Ray: a pool of long-lived actors, each holding one task instance (data loaded once), training
members whose states travel through Ray's object store in the wire format of ``pbtnas.engine.wire`` (numpy arrays).
The driver holds ObjectRefs; it reads a state (``fetch``) only to write a checkpoint.

Starts a local Ray (dashboard off, its servers on 127.0.0.1 only) unless one is running or ``address`` names a
cluster.
A worker process that dies is replaced by a new actor and the member it was training is retrained from its last
checkpoint (``reload``), up to ``max_retries`` times per member and step; after that the member is marked failed.
The driver's thread and the dispatcher's (``Dispatcher``, serving every step's ``TrainBatch``) share the pool:
replacing an actor is locked.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import ObjectLostError, RayActorError, RayTaskError, WorkerCrashedError

from pbtnas.engine.kernels import kernel_env
from pbtnas.engine.raycluster import RayBind, start_or_join
from pbtnas.engine.runner import MemberRunner
from pbtnas.engine.wire import from_wire, to_wire
from pbtnas.errors import UserError

__all__ = ["ActorPool", "actor_options", "inherited_env", "TrainBatch", "TrainJob", "TrainOutcome", "ensure_ray", "default_workers"]

log = logging.getLogger("pbtnas.engine")

DEAD_WORKER = (RayActorError, WorkerCrashedError)
LOST_OBJECT = (ObjectLostError,)  # includes OwnerDiedError and ObjectReconstructionFailedError
# Jobs queued on one actor at a time: the next job is already there when one ends, so the actor does not idle
# through the round trip to the driver (about 14 ms per job on 2 busy cores, measured); more would fix the order
# of a step's last jobs too early for the longest-first schedule to balance the workers.
JOBS_IN_FLIGHT = 2


# The pinned kernel variables every worker process of the local Ray inherits (set while ``ensure_ray`` started it).
# An actor then needs no ``runtime_env``: Ray gives an actor with one a worker process of its own, started for it
# (1.3 to 1.9 s measured on the 2-core machine), while a plain actor takes one of the workers Ray prestarts.
# Keyed by the node id of that Ray: after ``ray.shutdown`` and another ``ray.init`` the workers inherit nothing.
_inherited_env: tuple[str, dict[str, str]] | None = None


def inherited_env() -> dict[str, str]:
    """The pinned variables the workers of the connected Ray inherit (empty for a Ray this module did not start)."""
    if _inherited_env is None or not ray.is_initialized():
        return {}
    node, env = _inherited_env
    return env if ray.get_runtime_context().get_node_id() == node else {}


def ensure_ray(address: str | None, bind: RayBind = "loopback") -> None:
    """Start a local Ray, loopback-only unless ``bind="all"``, or join ``address`` (see ``raycluster``)."""
    global _inherited_env
    if ray.is_initialized():
        return
    # Only a loopback-only local Ray: no other machine can join it, so every worker descends from its raylet.
    # A cluster's nodes were started elsewhere and get the variables through each actor's runtime_env.
    env = kernel_env() if address is None and bind == "loopback" else {}
    start_or_join(address, bind, worker_env=env)
    _inherited_env = (ray.get_runtime_context().get_node_id(), env)


def default_workers(population: int, cpus_per_member: float, gpus_per_member: float) -> int:
    resources = ray.cluster_resources()
    n = int(resources.get("CPU", 1) // cpus_per_member)
    if gpus_per_member > 0:
        n = min(n, int(resources.get("GPU", 0) // gpus_per_member))
    return max(1, min(population, n))


class WireRunner(MemberRunner):
    """The actor: a ``MemberRunner`` whose member states arrive and leave in the wire format."""

    def call(self, method: str, *args: Any) -> tuple[Any, bool]:
        """Run ``method``; the second return value is a small object the driver reads to learn that the call has
        finished (or that the worker died) without fetching the state."""
        return to_wire(getattr(self, method)(*from_wire(args))), True

    def train_eval_wire(self, state: Any, *args: Any) -> tuple[Any, dict[str, Any]]:
        # Wall-clock stamps (the driver's are on the same clock on one machine; on a cluster, roughly), so a
        # benchmark can split the engine's overhead into serialisation, Ray's dispatch and idle workers.
        started = time.time()
        member = from_wire(state)
        unwired = time.time()
        new_state, report = self.train_eval(member, *args)
        trained = time.time()
        wire = to_wire(new_state)
        ended = time.time()
        report.update(wire_seconds=(unwired - started) + (ended - trained), actor_started=started,
                      actor_ended=ended, worker=os.getpid())
        return wire, report


@dataclass
class TrainJob:
    slot: int
    state: Any  # ObjectRef of a MemberState (None while ``make`` is set)
    values: list[int]
    start: int
    end: int
    train_seed: int
    eval_seed: int
    uid: int | None = None  # the member's id, for the task's per-step outputs (image grids, videos)
    cost: float = 0.0  # expected seconds (the member's last step): the pool starts the longest jobs first
    attempts: int = 0
    # A child's state is made by this call (make_child, mutate) on the actor that trains it, just before: on an
    # actor chosen earlier it would wait behind that actor's running job. ``made`` receives the state's ref.
    make: tuple[str, tuple[Any, ...]] | None = None
    made: Future[Any] | None = field(default=None, repr=False)
    submitted_at: float = 0.0  # wall clock, when the dispatcher handed the job to Ray


@dataclass
class TrainOutcome:
    slot: int
    state: Any  # ObjectRef
    report: dict[str, Any]


def actor_options(cpus_per_member: float, gpus_per_member: float) -> dict[str, Any]:
    """Ray options of the pool's actors. SPREAD: on a cluster the actors go to different nodes (each loads the
    task's data once), not all to the driver's node until it is full; on one machine it changes nothing. The
    pinned CPU kernels (pbtnas.engine.kernels) make a run's numbers independent of the CPU model."""
    options: dict[str, Any] = {"num_cpus": cpus_per_member, "num_gpus": gpus_per_member, "max_restarts": 0,
                               "scheduling_strategy": "SPREAD"}
    inherited = inherited_env()
    env = {k: v for k, v in kernel_env().items() if inherited.get(k) != v}
    if env:
        options["runtime_env"] = {"env_vars": env}
    return options


class TaskSetupError(UserError, RuntimeError):
    """The task refused to start in the workers: data its preflight could not see was malformed (a corrupt image
    after the first, NaN values in an array), say. The message is the task's own."""


class ActorPool:
    def __init__(
        self,
        n_workers: int,
        runner_kwargs: dict[str, Any] | None,
        cpus_per_member: float,
        gpus_per_member: float,
        task_name: str | None = None,
    ) -> None:
        """``runner_kwargs=None`` launches the actors without waiting for them: each imports torch and the module of
        ``task_name`` while the driver goes on (compiling, writing the run directory); ``reconfigure`` then gives
        them the space and task and waits. Otherwise the pool is ready (or has failed) when this returns."""
        ready = runner_kwargs is not None
        self._kwargs = runner_kwargs if ready else {"task_name": task_name}
        self._options = actor_options(cpus_per_member, gpus_per_member)
        self._cls = ray.remote(WireRunner)
        self.actors = [self._new_actor() for _ in range(n_workers)]
        self.restarts = 0
        self._lock = threading.RLock()
        self._driver_node = ray.get_runtime_context().get_node_id()
        # Replacement actors not yet started (ping ref -> index). They take work only once up: after a lost node
        # there may be no room for them until it returns, and the members go to the actors that are left.
        self._starting: dict[Any, int] = {}
        self._failed_starts = 0
        self.dispatcher = Dispatcher(self)
        if ready:
            ray.get([a.ping.remote() for a in self.actors])  # fail early (bad task options, import errors)

    def reconfigure(self, runner_kwargs: dict[str, Any]) -> None:
        """Give every actor a new space and task without restarting its process (imports and Ray worker start-up
        are the expensive part of an actor): the second half of a launched pool's start, and how one process runs
        several searches (tests, benchmarks). Replacements of dead actors start with these arguments."""
        self._kwargs = runner_kwargs
        try:
            ray.get([a.configure.remote(**runner_kwargs) for a in self.actors])
        except RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, (ValueError, OSError)):  # the task's own checks of its data and options
                raise TaskSetupError(f"the task cannot start: {cause}") from None
            raise

    def _new_actor(self) -> Any:
        kwargs = dict(self._kwargs, threads=max(1, int(self._options["num_cpus"])))
        return self._cls.options(**self._options).remote(**kwargs)

    def _replace(self, index: int, dead: Any = None) -> None:
        """Replace the actor at ``index`` (``dead``: the handle that failed; the training dispatcher and the driver
        can both see one death, and only the first replaces it)."""
        with self._lock:
            if dead is not None and self.actors[index] is not dead:
                return
            try:
                ray.kill(self.actors[index])
            except Exception:  # already gone
                pass
            self.actors[index] = self._new_actor()
            self._starting[self.actors[index].ping.remote()] = index
            self.restarts += 1

    def _started(self, ping_ref: Any) -> int | None:
        """The index of a replacement whose start-up ``ping_ref`` answered, if it is now ready for work."""
        with self._lock:
            index = self._starting.pop(ping_ref, None)
            if index is None:  # the other thread saw it first
                return None
            try:
                ray.get(ping_ref)
                return index
            except DEAD_WORKER as err:  # died while starting (its node too was lost): start another, a few times
                self._failed_starts += 1
                if self._failed_starts > 3 * len(self.actors):
                    raise RuntimeError(
                        f"{self._failed_starts} replacement workers died while starting: {err}"
                    ) from None
                self._replace(index)
                return None

    def starting(self) -> list[Any]:
        with self._lock:
            return list(self._starting)

    def _ready(self) -> list[int]:
        """Indices of actors that can take work now (replacements that have come up since are promoted); waits
        for one when none is up."""
        while True:
            pending = self.starting()
            if pending:
                done, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
                for ref in done:
                    self._started(ref)
            with self._lock:
                if len(self._starting) < len(self.actors):
                    starting = set(self._starting.values())
                    return [i for i in range(len(self.actors)) if i not in starting]
                pending = list(self._starting)
            ray.wait(pending, num_returns=1)

    def __len__(self) -> int:
        return len(self.actors)

    def put(self, state: Any) -> Any:
        """A state read from disk -> an ObjectRef the actors take."""
        return ray.put(to_wire(state))

    def fetch(self, ref: Any) -> Any:
        """The state (or result) behind ``ref`` as tensors, read-only: for writing it to disk."""
        return from_wire(ray.get(ref), writable=False)

    def _submit(self, index: int, method: str, args: tuple[Any, ...]) -> tuple[Any, Any]:
        result_ref, done_ref = self.actors[index].call.options(num_returns=2).remote(method, *args)
        return result_ref, done_ref

    def run_calls(
        self, method: str, calls: list[tuple[Any, ...]], consume: Callable[[int, Any], None] | None = None
    ) -> list[Any]:
        """Call ``method`` once per argument tuple, spread over the pool, and wait until all have finished; returns
        the result refs in order (``fetch`` reads one). ``consume(i, ref)`` is called as each finishes, in order, so
        a caller that fetches and writes states holds one at a time. A dead actor is replaced and its calls are
        re-run on an actor that is up (arguments are ObjectRefs the driver still holds)."""
        ready = self._ready()
        submitted = []
        for i, args in enumerate(calls):
            index = ready[i % len(ready)]
            submitted.append((index, *self._submit(index, method, args)))
        refs: list[Any] = []
        for i, (index, ref, done) in enumerate(submitted):
            for attempt in range(3):
                actor = self.actors[index]
                try:
                    ray.get(done)
                    break
                except DEAD_WORKER:
                    if attempt == 2:
                        raise
                    log.warning("worker %d died during %s; restarting it", index, method)
                    if self._is_dead(index):
                        self._replace(index, actor)
                    index = self._ready()[0]
                    ref, done = self._submit(index, method, calls[i])
            if consume is not None:
                consume(i, ref)
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

    def open_batch(
        self,
        reload: Callable[[int], Any],
        max_retries: int,
        on_done: Callable[[TrainOutcome], None] | None = None,
    ) -> TrainBatch:
        """A batch to add a step's jobs to (``add``, then ``close``); they start at once: the dispatcher's thread
        hands each free actor the next job, so the driver can write the previous step to disk meanwhile."""
        return self.dispatcher.open(reload, max_retries, on_done)

    def shutdown(self) -> None:
        self.dispatcher.stop()
        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:
                pass


class BatchCancelled(RuntimeError):
    """The batch belonged to a search that ended before it did."""


class TrainBatch:
    """One step's training jobs. Jobs can be added until ``close()`` (a step's survivors may start before its
    children exist); ``wait()`` returns the outcomes by slot once the batch is closed and every job has finished,
    or raises what the dispatcher raised. ``reload(slot)`` is only called when a worker died, to restart the job
    from disk; ``on_done(outcome)`` runs in the dispatcher's thread as each job ends."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        seq: int,
        reload: Callable[[int], Any],
        max_retries: int,
        on_done: Callable[[TrainOutcome], None] | None,
    ) -> None:
        self.dispatcher, self.seq = dispatcher, seq
        self.reload, self.max_retries, self.on_done = reload, max_retries, on_done
        self.outcomes: dict[int, TrainOutcome] = {}
        self.pending = 0  # jobs added and not finished (guarded by the dispatcher's lock)
        self.closed = False
        self.cancelled = False
        self.error: BaseException | None = None
        self.done = threading.Event()

    def add(self, jobs: list[TrainJob]) -> None:
        self.dispatcher.add(self, jobs)

    def close(self) -> None:
        self.dispatcher.close(self)

    def wait(self) -> dict[int, TrainOutcome]:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.outcomes


class Dispatcher:
    """Hands the pool's actors their training jobs from one thread, for every open batch: older batches first and,
    within one, the longest expected job first (LPT: a step ends when its last job does, so a long job started last
    would leave the other workers idle). The order never changes results: every job is seeded by itself."""

    # While an actor has room and jobs may still arrive, the thread looks for new ones this often (seconds): Ray
    # cannot wake a ``ray.wait`` from another thread.
    POLL = 0.005

    def __init__(self, pool: ActorPool) -> None:
        self.pool = pool
        self.cond = threading.Condition()
        self.queue: list[tuple[TrainBatch, TrainJob]] = []
        self.batches: list[TrainBatch] = []  # not yet done
        self.parked = 0  # jobs whose checkpoint is being reloaded by a helper thread
        self.thread: threading.Thread | None = None
        self.stopped = False
        self._seq = 0

    def open(self, reload: Callable[[int], Any], max_retries: int,
             on_done: Callable[[TrainOutcome], None] | None) -> TrainBatch:
        with self.cond:
            self._seq += 1
            batch = TrainBatch(self, self._seq, reload, max_retries, on_done)
            self.batches.append(batch)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="pbtnas-dispatch", daemon=True)
                self.thread.start()
            return batch

    def add(self, batch: TrainBatch, jobs: list[TrainJob]) -> None:
        with self.cond:
            if batch.closed:
                raise RuntimeError("jobs added to a closed batch")
            self.queue.extend((batch, job) for job in jobs)
            batch.pending += len(jobs)
            self._sort()
            self.cond.notify()

    def close(self, batch: TrainBatch) -> None:
        with self.cond:
            batch.closed = True
            self._settle(batch)
            self.cond.notify()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()

    def cancel_all(self) -> None:
        """Forget every batch not yet done (a search that raised): their queued jobs never start, and jobs still
        running report to nobody, so a kept pool serves the next search alone."""
        self._fail(BatchCancelled("the search that opened this batch has ended"), cancelled=True)

    def _sort(self) -> None:
        # a retried job first within its batch (it has lost time already), then the longest
        self.queue.sort(key=lambda item: (item[0].seq, -item[1].attempts, -item[1].cost))

    def _settle(self, batch: TrainBatch) -> None:
        if batch.closed and batch.pending == 0 and not batch.done.is_set():
            batch.done.set()
            self.batches.remove(batch)

    def _finish(self, batch: TrainBatch, outcome: TrainOutcome) -> None:
        if batch.cancelled:
            return
        batch.outcomes[outcome.slot] = outcome
        if batch.on_done:
            batch.on_done(outcome)  # outside the lock: it may add the next step's jobs
        with self.cond:
            batch.pending -= 1
            self._settle(batch)

    def _retry(self, batch: TrainBatch, job: TrainJob, err: BaseException) -> None:
        """The job's worker died (or the worker or node that held its input): again from the checkpoint, on
        whichever actor is free first, up to ``max_retries`` times. The checkpoint is read by a helper thread: it may
        wait for the driver to write it, and this thread must go on serving the older batches meanwhile."""
        if batch.cancelled:
            return
        job.attempts += 1
        if job.attempts > batch.max_retries:
            self._finish(batch, TrainOutcome(
                job.slot, job.state, {"failed": True, "error": f"worker died {job.attempts} times: {err}"}
            ))
            return
        log.warning("worker died while training slot %d; retraining it from its checkpoint", job.slot)

        def reload() -> None:
            try:
                job.state = batch.reload(job.slot)
            except BaseException as failure:  # noqa: BLE001 - delivered to the batch's waiter
                self._fail(failure)
                return
            with self.cond:
                self.parked -= 1
                if batch.cancelled:
                    return
                self.queue.append((batch, job))
                self._sort()
                self.cond.notify()

        with self.cond:
            self.parked += 1
        threading.Thread(target=reload, name="pbtnas-reload", daemon=True).start()

    def _fail(self, err: BaseException, cancelled: bool = False) -> None:
        """Every batch not yet done raises ``err`` from ``wait()``; their remaining jobs are dropped."""
        with self.cond:
            for batch in self.batches:
                batch.error, batch.cancelled = err, cancelled
                batch.done.set()
            for _, job in self.queue:
                if job.made is not None and not job.made.done():
                    job.made.set_exception(err)
            self.batches.clear()
            self.queue.clear()

    def _run(self) -> None:
        try:
            self._dispatch()
        except BaseException as err:  # re-raised in the driver's thread by wait()
            self._fail(err)
        finally:
            with self.cond:
                self.thread = None  # the next batch opened starts a new one

    def _take(self, running: dict[Any, tuple[int, Any, TrainBatch, TrainJob, Any]]) -> list[tuple[int, Any]]:
        """Pop the jobs the actors can take now: (actor index, (batch, job)) pairs, under the lock."""
        load = Counter(index for index, *_ in running.values())
        up = self.pool._ready() if self.queue else []
        taken = []
        # Round by round, so the longest jobs start on different actors. A second job is queued on a busy actor
        # only while more jobs wait than there are actors: the last ones wait here for whichever actor is idle
        # first, or one would sit behind a running job while another actor idles at the step's barrier.
        for index in [i for level in range(JOBS_IN_FLIGHT) for i in up if load[i] <= level]:
            if not self.queue or (load[index] > 0 and len(self.queue) <= len(up)):
                break
            load[index] += 1
            taken.append((index, self.queue.pop(0)))
        return taken

    def _dispatch(self) -> None:
        pool = self.pool
        running: dict[Any, tuple[int, Any, TrainBatch, TrainJob, Any]] = {}  # report ref -> its job
        while True:
            with self.cond:
                while not self.stopped and not self.queue and not running:
                    self.cond.wait()
                if self.stopped:
                    return
                taken = self._take(running)
                more_may_come = self.parked > 0 or any(not b.closed for b in self.batches)
            for index, (batch, job) in taken:
                actor = pool.actors[index]
                if job.make is not None:
                    job.state, _ = pool._submit(index, *job.make)
                    job.make = None
                    if job.made is not None:
                        job.made.set_result(job.state)
                job.submitted_at = time.time()
                state_ref, report_ref = actor.train_eval_wire.options(num_returns=2).remote(
                    job.state, job.values, job.start, job.end, job.train_seed, job.eval_seed, job.uid
                )
                running[report_ref] = (index, actor, batch, job, state_ref)
            if not running:  # every job waits for an actor to come up
                continue
            idle = len({index for index, *_ in running.values()}) < len(pool)
            timeout = self.POLL if (idle and more_may_come) else None
            ready, _ = ray.wait([*running, *pool.starting()], num_returns=1, timeout=timeout)
            if not ready:
                continue
            if ready[0] not in running:  # a replacement came up: it takes work at the top of the loop
                pool._started(ready[0])
                continue
            index, actor, batch, job, state_ref = running.pop(ready[0])
            try:
                report = ray.get(ready[0])
                report.update(submitted_at=job.submitted_at, observed_at=time.time())
            except DEAD_WORKER + LOST_OBJECT as err:
                if pool._is_dead(index):  # not so when it was the input's worker or node that was lost
                    pool._replace(index, actor)
                self._retry(batch, job, err)
                continue
            try:
                state_ref = pool._keep_near_driver(state_ref, report.get("node"))
            except LOST_OBJECT as err:  # its node died since it reported: as if it had died while training
                self._retry(batch, job, err)
                continue
            self._finish(batch, TrainOutcome(job.slot, state_ref, report))
