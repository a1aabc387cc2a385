"""The synchronous PBT-NAS loop (paper Algorithm 1) and its baselines, on an ``ActorPool``.

One iteration: every member trains its step in parallel and is evaluated; unless this is the last step, the worst
members are replaced by children of the best (mixing, mutation) or, for random search, nothing is selected; then
the population ready for the next step is written to the run directory (checkpoints first, population file, then
progress.json, the commit point). A resumed run reloads that and continues exactly where the killed run would have.
"""

from __future__ import annotations

import bisect
import errno
import logging
import math
import statistics
import threading
import time
from collections.abc import Collection, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pbtnas.compiler.parameters import format_count
from pbtnas.engine.budget import Budget
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.execution import DEAD_WORKER, LOST_OBJECT, ActorPool, TrainBatch, TrainJob, TrainOutcome
from pbtnas.engine.mixing import MixPlan, close_over_links, draw_inherited
from pbtnas.engine.mutation import MutationPlan, draw_mutation
from pbtnas.engine.population import Member, json_float, latest_fitness, origin_shares, stratified_genomes
from pbtnas.engine.raycluster import write_worker_files
from pbtnas.engine.rundir import RunDir, RunDirError, WriteError, load_state
from pbtnas.engine.schedule import Step
from pbtnas.engine.seeding import Purpose, derive_seed, rng_for
from pbtnas.engine.selection import AllMembersFailed, rank, rank_key, select, selection_counts
from pbtnas.engine.timings import Timings
from pbtnas.tasks.registry import get_task

__all__ = ["Driver", "ProgressSink", "RunSummary", "lineage_shares"]

log = logging.getLogger("pbtnas.engine")


class ProgressSink(Protocol):
    def start(self, total: int, done: int) -> None: ...
    def member_done(self, step: Step, fitness: float | None) -> None: ...
    def step_done(self, step: Step, best: float, median: float) -> None: ...
    def message(self, text: str) -> None: ...


class NullProgress:
    def start(self, total: int, done: int) -> None: ...
    def member_done(self, step: Step, fitness: float | None) -> None: ...
    def step_done(self, step: Step, best: float, median: float) -> None: ...
    def message(self, text: str) -> None:
        log.info(text)


@dataclass
class RunSummary:
    best_fitness: float
    best_genome: tuple[int, ...]
    epochs: int
    wall_seconds: float
    member_seconds: float  # sum over members and steps of train + evaluation time
    workers: int
    restarts: int
    failures: int
    fitness: list[float] = field(default_factory=list)  # final population, by slot
    timings: Timings | None = None  # where the wall time went (RUN/timings.json), set by run_search


def job_seconds(report: dict[str, Any]) -> float:
    """A training job's measured member time (train + evaluation) from its report."""
    return float(report.get("train_seconds", 0.0)) + float(report.get("eval_seconds", 0.0))


def lineage_shares(members: list[Member]) -> dict[str, float]:
    """``origin_shares`` of the members, keyed by the origin uid as a string (the form lineage.json holds)."""
    return {str(uid): share for uid, share in origin_shares(m.lineage for m in members).items()}


@dataclass
class StepJobs:
    """A step's batch of training jobs, and what the driver needs to start the step's survivors on the following
    step before its last job has finished (``Driver._start_survivors``)."""

    step: Step
    batch: TrainBatch
    members: dict[int, Member] = field(default_factory=dict)  # slot -> member, once every job is in (closed)
    closed: bool = False
    finished: dict[int, TrainOutcome] = field(default_factory=dict)
    started_next: set[int] = field(default_factory=set)  # slots already training the following step
    keys: dict[int, tuple[float, int]] = field(default_factory=dict)  # slot -> rank_key of its finished job


class Driver:
    def __init__(self, cfg: SearchConfig, space: Any, run: RunDir, pool: ActorPool, progress: ProgressSink,
                 timings: Timings | None = None) -> None:
        self.cfg = cfg
        self.timings = timings or Timings()
        self.space = space
        self.run = run
        self.pool = pool
        self.progress = progress
        self.steps = cfg.steps()
        self.option_counts = tuple(len(g.options) for g in space.genes)
        self.budget = Budget(space, cfg.max_params, cfg.max_flops)
        self.members: list[Member] = []
        self.states: dict[int, Any] = {}  # slot -> ObjectRef of its MemberState
        self.costs: dict[int, float] = {}  # slot -> seconds of its member's last step, to start long jobs first
        self.next_uid = 0
        self.best_ever: dict[str, Any] | None = None
        self.lineage_history: list[dict[str, Any]] = []
        self.member_seconds = 0.0
        self.failures = 0
        self.epoch = 0
        self._jobs: dict[int, StepJobs] = {}  # step index -> its jobs, for steps started before the driver got there
        self._jobs_lock = threading.Lock()  # the dispatcher's thread adds survivors' jobs while the driver works
        # A worker's reload of a step's checkpoint waits until that step is committed (it may still be being written)
        self._committed_cond = threading.Condition()
        self._commit_failed = False
        # Survivors start their next step as soon as they are known to survive (not at the step's barrier) when
        # variation never changes them and the task's members share nothing outside their states.
        self.overlap = cfg.overlap_steps and bool(getattr(get_task(cfg.task), "self_contained", True)) and not (
            cfg.algorithm == "random" and cfg.effective_shrink_perturb() is not None
        )
        self._redo: dict[int, tuple[str, tuple[Any, ...]]] = {}  # slot -> the call that made its child
        self.committed: int | None = None  # the last step whose progress.json was written (None: not one yet)

    # setup -------------------------------------------------------------------------------------------------
    def initialise(self) -> None:
        n = self.cfg.population
        genomes = stratified_genomes(self.option_counts, n, rng_for(self.cfg.seed, Purpose.INIT_GENOMES))
        genomes = [self.budget.draw(g, self._uniform_genome, rng_for(self.cfg.seed, Purpose.BUDGET, 0, i), None,
                                    "the initial population") for i, g in enumerate(genomes)]
        self.members = [
            Member(slot=i, uid=i, genome=g, lineage=[[i] for _ in g], origin={"kind": "init"})
            for i, g in enumerate(genomes)
        ]
        self.next_uid = n
        calls = [(list(m.genome), derive_seed(self.cfg.seed, Purpose.MEMBER_INIT, m.uid)) for m in self.members]
        with self._persisting():
            staging = self.run.staging_dir(0)

            def keep(i: int, ref: Any) -> None:
                self.run.write_checkpoint(staging, i, self.pool.fetch(ref))
                self.states[i] = ref

            self.pool.run_calls("new_member", calls, keep)
        self.lineage_history = [{"epoch": 0, "shares": lineage_shares(self.members)}]
        self._commit(0, next_step=0, evaluated=[], events=[{"kind": "init"}], staging=staging, wall=0.0)

    def resume(self) -> None:
        """Continue from the newest intact committed step (checksums verified); a damaged newer step is reported
        by file name and skipped, and everything the driver keeps is restored as it was at that step."""
        point = self.run.find_resume_point()  # RunDirError when no committed step is intact
        self.run.remove_temporaries()
        if point is None:
            log.warning("no step of %s was committed; starting it from the beginning", self.run.root)
            self.progress.message("no step of this run was complete: starting it from the beginning")
            self.initialise()
            return
        for problem in point.problems:
            log.error("damaged: %s", problem)
            self.progress.message(f"damaged: {problem}")
        if point.problems:
            self.progress.message(f"resuming from epoch {point.epoch}, the last intact step")
        if point.legacy:
            log.warning("%s has no checksums (written by an older pbtnas): resuming unverified", self.run.root)
        self.epoch = self.committed = point.epoch
        snapshot = self.run.read_json(self.run.population_path(self.epoch))
        self.members = [Member.from_json(d) for d in snapshot["members"]]
        state = point.manifest["state"]
        progress = state["progress"]
        self.next_uid = int(progress["next_uid"])
        self.best_ever = progress.get("best_ever")
        self.member_seconds = float(progress.get("member_seconds", 0.0))
        self.failures = int(progress.get("failures", 0))
        self.lineage_history = [dict(h) for h in state.get("lineage_history", [])]
        if point.problems:  # progress.json and lineage.json may be damaged or describe the damaged step
            with self._persisting():
                self.run.write_lineage(self.lineage_history)
                self.run.write_progress(progress, self.run.manifest_digest(self.epoch))
        older = [e for e in self.run.step_epochs() if e < self.epoch]
        with self._persisting():  # a prune the killed run had begun: keep the resume step and the one before
            self.run.prune_checkpoints([self.epoch, *older[:1]])
            # a best-ever population written by a step that was never committed goes; the committed one stays
            self.run.prune_best_ever_population(self.best_ever["epoch"] if self.best_ever else None)
        for m in self.members:
            self.states[m.slot] = self.pool.put(load_state(self.run.checkpoint_path(self.epoch, m.slot)))

    # the loop ----------------------------------------------------------------------------------------------
    def run_all(self) -> RunSummary:
        t_start = time.perf_counter()
        remaining = [s for s in self.steps if s.start >= self.epoch]
        total = len(self.steps) * len(self.members)
        self.progress.start(total, total - len(remaining) * len(self.members))
        for i, step in enumerate(remaining):
            with self.timings.phase(f"step {step.index + 1}"):
                self.run_step(step, remaining[i + 1] if i + 1 < len(remaining) else None)
        with self.timings.phase("final export"):
            return self.finish(time.perf_counter() - t_start)

    def _job(self, step: Step, m: Member, state: Any, cost: float) -> TrainJob:
        return TrainJob(
            slot=m.slot,
            state=state,
            values=list(m.genome),
            start=step.start,
            end=step.end,
            train_seed=derive_seed(self.cfg.seed, Purpose.TRAIN, step.start, m.uid),
            eval_seed=derive_seed(self.cfg.seed, Purpose.EVALUATE, step.end),
            uid=m.uid,
            cost=cost,
        )

    def _open(self, step: Step) -> StepJobs:
        """The batch of ``step``, with no jobs yet (called with ``_jobs_lock`` held or from the driver's thread
        when no survivor can have started the step)."""

        def done(outcome: TrainOutcome) -> None:  # in the dispatcher's thread
            files = outcome.report.pop("files", None)
            if files:  # a worker's per-step outputs travel with its report; the driver owns the run directory
                try:
                    write_worker_files(self.run.root / "workdirs", files)
                except (OSError, ValueError) as err:  # an image grid is never worth stopping a search for
                    log.error("per-step outputs of slot %d not written: %s", outcome.slot, err)
            ok = not outcome.report.get("failed")
            self.progress.member_done(step, outcome.report.get("fitness") if ok else None)
            with self._jobs_lock:
                jobs.finished[outcome.slot] = outcome
                if jobs.closed:
                    self._start_survivors(jobs)

        def reload(slot: int) -> Any:  # in a helper thread of the dispatcher
            with self._committed_cond:  # the step this one starts from may still be being written
                self._committed_cond.wait_for(
                    lambda: self._commit_failed or (self.committed is not None and self.committed >= step.start)
                )
                if self._commit_failed:
                    raise RuntimeError(f"epoch {step.start} was not written; slot {slot} cannot be reloaded")
            return self.pool.put(load_state(self.run.checkpoint_path(step.start, slot)))

        jobs = StepJobs(step, self.pool.open_batch(reload, self.cfg.max_retries, done))
        self._jobs[step.index] = jobs
        return jobs

    def _close(self, jobs: StepJobs, members: list[Member], started: Collection[int] = ()) -> None:
        """Add the jobs of ``members`` but the ``started`` slots (survivors already training the step) and close
        the batch; from now on the step's own survivors are known as they finish."""
        new = [self._job(jobs.step, m, self.states[m.slot], self.costs.get(m.slot, 0.0))
               for m in members if m.slot not in started]
        for job in new:
            if isinstance(job.state, Future):  # a child, made by the actor that trains it (``_vary``)
                job.make, job.made, job.state = self._redo[job.slot], job.state, None
        jobs.batch.add(new)
        jobs.batch.close()
        with self._jobs_lock:
            jobs.members = {m.slot: m for m in members}
            jobs.closed = True
            self._start_survivors(jobs)

    def _start_survivors(self, jobs: StepJobs) -> None:
        """Start the following step of each member of ``jobs`` that has finished and will survive the selection
        whatever the unfinished ones score: enough finished members rank below it (failed ones last, ties by slot,
        as ``select`` ranks). Its job is the one the barrier would have started (same state, genome and seeds), so
        results do not change; the workers need not idle while the step's slowest members finish. Called with
        ``_jobs_lock`` held."""
        following = self._following(jobs.step)
        if following is None or not self.overlap or len(jobs.members) != self.cfg.population:
            return
        n_replaced = 0 if self.cfg.algorithm == "random" else selection_counts(len(jobs.members), self.cfg.tau).n_replaced

        # Called as each job finishes: ranking every finished member against every other each time cost O(N^2) per
        # call, O(N^3) per step (4.7 s of driver CPU per step at N = 512). Keys are computed once per member and
        # counted by bisection in one sorted list, O(N log N) per call.
        keys = jobs.keys
        for slot, o in jobs.finished.items():
            if slot not in keys:  # a report with non-finite fitness is a failed one
                keys[slot] = rank_key(-math.inf if o.report.get("failed") else float(o.report["fitness"]), slot)
        ordered = sorted(keys.values())
        nxt = self._jobs.get(following.index)
        for slot, k in keys.items():
            if slot in jobs.started_next or k[0] == math.inf:
                continue
            if len(ordered) - bisect.bisect_right(ordered, k) < n_replaced:  # finished members ranking below it
                continue
            outcome = jobs.finished[slot]
            nxt = nxt or self._open(following)
            nxt.batch.add([self._job(following, jobs.members[slot], outcome.state, job_seconds(outcome.report))])
            jobs.started_next.add(slot)

    def _following(self, step: Step) -> Step | None:
        return self.steps[step.index + 1] if step.index + 1 < len(self.steps) else None

    def run_step(self, step: Step, following: Step | None = None) -> None:
        """Train and evaluate ``step``, select and vary, then start ``following`` on the workers before writing this
        step to disk: the driver's bookkeeping and I/O overlap the next step's training instead of idling the pool.
        Survivors may have started ``following`` already (``_start_survivors``). The commit order on disk is
        unchanged (a step's checkpoints and population before its progress.json)."""
        t0 = time.perf_counter()
        jobs = self._jobs.get(step.index)
        if jobs is None:
            jobs = self._open(step)
            self._close(jobs, [m for m in self.members if m.status == "ok"])
        outcomes = jobs.batch.wait()
        evaluated = self._record(step, outcomes)
        best_export = self._update_best_ever(step)
        population_export = self._best_ever_population(step) if best_export is not None else None
        if self.cfg.tensorboard:  # before variation replaces members; written once the workers have the next step
            trained = [{"uid": m.uid, "genome": m.genome} for m in self.members]
        events: list[dict[str, Any]] = []
        if not step.last:
            events = self._vary(step)
        self.lineage_history.append({"epoch": step.end, "shares": lineage_shares(self.members)})
        if following is not None:
            with self._jobs_lock:  # all of this step's outcomes are in: no survivor is being started now
                nxt = self._jobs.get(following.index) or self._open(following)
            self._close(nxt, [m for m in self.members if m.status == "ok"], jobs.started_next)
        with self._jobs_lock:
            del self._jobs[step.index]
        if self.cfg.tensorboard:
            from pbtnas.engine.tensorboard import log_step

            try:
                log_step(self.run.root, step.end, evaluated, trained)
            except Exception:  # logging never stops a search
                log.exception("tensorboard logging failed")
        committed = False
        try:
            if best_export is not None:
                self._write_best("best_ever", *best_export)
            if population_export is not None:
                with self._persisting():
                    members, refs = population_export
                    self.run.write_best_ever_population(
                        step.end, members, ((slot, self.pool.fetch(ref)) for slot, ref in sorted(refs.items())))
            with self._persisting():
                staging = self.run.staging_dir(step.end)
                for m in self.members:
                    self.run.write_checkpoint(staging, m.slot, self._fetch_state(m.slot))
            wall = time.perf_counter() - t0
            self._commit(step.end, step.index + 1, evaluated, events, staging, wall)
            committed = True
        finally:
            if not committed:  # a worker waiting to reload this step would wait for ever
                with self._committed_cond:
                    self._commit_failed = True
                    self._committed_cond.notify_all()
        fits = [f for f in (latest_fitness(m) for m in self._evaluated_members) if math.isfinite(f)]
        self.progress.step_done(step, max(fits, default=-math.inf), statistics.median(fits) if fits else -math.inf)
        if fits and self.budget.countable:
            best = max((m for m in self._evaluated_members if math.isfinite(latest_fitness(m))), key=latest_fitness)
            cost = self.budget.member_costs(best.genome)
            flops = "" if cost["flops"] is None else f", {format_count(cost['flops'])} MACs"
            self.progress.message(f"epoch {step.end}: best member {best.uid} fitness {latest_fitness(best):.4g} "
                                  f"({format_count(cost['params'] or 0)} params{flops})")

    def _record(self, step: Step, outcomes: dict[int, TrainOutcome]) -> list[dict[str, Any]]:
        evaluated: list[dict[str, Any]] = []
        for m in self.members:
            outcome = outcomes.get(m.slot)
            if outcome is None:  # failed earlier and not replaced (random search restarts it, see _vary)
                continue
            report = outcome.report
            self.states[m.slot] = outcome.state
            seconds = job_seconds(report)
            self.member_seconds += seconds
            self.costs[m.slot] = seconds
            if report.get("failed"):
                m.status = "failed"
                m.error = str(report.get("error"))
                m.fitness.append((step.end, -math.inf))
                self.failures += 1
                first_line = m.error.splitlines()[0] if m.error else "?"
                log.error("member uid %d (slot %d) failed at epoch %d: %s", m.uid, m.slot, step.end, m.error)
                self.progress.message(f"member {m.uid} (slot {m.slot}) failed: {first_line}")
            else:
                m.fitness.append((step.end, float(report["fitness"])))
            evaluated.append(
                {
                    "slot": m.slot,
                    "uid": m.uid,
                    "fitness": json_float(m.fitness[-1][1]),
                    "status": m.status,
                    "metrics": report.get("metrics", {}),
                    "train_seconds": report.get("train_seconds"),
                    "eval_seconds": report.get("eval_seconds"),
                    "wire_seconds": report.get("wire_seconds"),
                    # wall clock: handed to Ray, started and ended on the worker, seen by the driver
                    "timeline": [report.get(k) for k in ("submitted_at", "actor_started", "actor_ended",
                                                         "observed_at")],
                    "worker": report.get("worker"),
                    "node": report.get("node"),
                }
            )
        self._evaluated_members = [m for m in self.members]
        return evaluated

    def _fetch_state(self, slot: int) -> Any:
        """The slot's state for its checkpoint; a child whose worker died while building it is built again (the
        call is deterministic: same parents' states, same seed)."""
        if isinstance(self.states[slot], Future):  # a child: its ref exists once its job went to an actor
            self.states[slot] = self.states[slot].result()
        try:
            return self.pool.fetch(self.states[slot])
        except DEAD_WORKER + LOST_OBJECT:  # its worker died, or its node was lost, before the driver read it
            if slot not in self._redo:
                raise
            method, args = self._redo[slot]
            log.warning("the worker building the child in slot %d died; building it again", slot)
            self.states[slot] = self.pool.run_calls(method, [args])[0]
            return self.pool.fetch(self.states[slot])

    def _update_best_ever(self, step: Step) -> tuple[Member, int, Any] | None:
        """Record a new best fitness; returns what ``_write_best`` needs to export it (the state as trained: variation
        may replace the slot's state afterwards), or None."""
        healthy = [m for m in self.members if m.status == "ok" and m.fitness and m.fitness[-1][0] == step.end]
        if not healthy:
            return None
        best = rank(healthy)[0]
        fitness = best.fitness[-1][1]
        if self.best_ever is not None and fitness <= self.best_ever["fitness"]:
            return None
        self.best_ever = {"fitness": fitness, "uid": best.uid, "epoch": step.end, "genome": list(best.genome)}
        return best, step.end, self.states[best.slot]

    def _best_ever_population(self, step: Step) -> tuple[list[dict[str, Any]], dict[int, Any]] | None:
        """The members evaluated at ``step`` and their states as trained, taken before variation replaces any
        (the reference copies the step's checkpoints after it, so it keeps the children instead of the replaced
        members; children are never evaluated, so they cannot be soup ingredients anyway)."""
        if not self.cfg.keeps_best_ever_population():
            return None
        done = [m for m in self.members if m.status == "ok" and m.fitness and m.fitness[-1][0] == step.end]
        return [m.to_json() for m in done], {m.slot: self.states[m.slot] for m in done}

    def _write_best(self, which: str, member: Member, epoch: int, state: Any = None) -> None:
        state = self.states[member.slot] if state is None else state
        got: list[Any] = []
        self.pool.run_calls("final_state", [(state, list(member.genome))], lambda i, ref: got.append(self.pool.fetch(ref)))
        model = got[0]
        genome_json = self.space.to_json_genome(self.space.validate(list(member.genome)))
        info = {"fitness": member.fitness[-1][1], "uid": member.uid, "slot": member.slot, "epoch": epoch}
        with self._persisting():
            self.run.write_best(which, model, genome_json, info)

    # variation ---------------------------------------------------------------------------------------------
    def _vary(self, step: Step) -> list[dict[str, Any]]:
        algorithm = self.cfg.algorithm
        if algorithm == "random":
            return self._vary_random(step)
        try:
            selection = select(self.members, self.cfg.tau)
        except AllMembersFailed as err:
            raise self._all_failed(f"epoch {step.end}: {err}") from None
        rng = rng_for(self.cfg.seed, Purpose.SELECTION, step.end)
        by_slot = {m.slot: m for m in self.members}
        parents = [by_slot[s] for s in selection.parents]  # best first
        sp = self.cfg.effective_shrink_perturb()
        events: list[dict[str, Any]] = []
        self._redo.clear()
        children: list[Member] = []
        calls: list[tuple[str, tuple[Any, ...]]] = []
        for slot in selection.replaced:
            if len(parents) >= 2:
                a, b = sorted(int(i) for i in rng.choice(len(parents), size=2, replace=False))
                base, donor = parents[a], parents[b]  # parents are ranked: the lower index is the fitter
            else:
                base = donor = parents[0]
            if self.cfg.mix_with_self:
                donor = base
            uid = self.next_uid
            self.next_uid += 1
            child_seed = derive_seed(self.cfg.seed, Purpose.CHILD, step.end, uid)
            replaced = by_slot[slot]
            event: dict[str, Any] = {
                "kind": algorithm,
                "slot": slot,
                "child_uid": uid,
                "replaced_uid": replaced.uid,
                "replaced_fitness": json_float(latest_fitness(replaced)),
                "base_uid": base.uid,
                "donor_uid": donor.uid,
            }
            lineage = [list(x) for x in base.lineage]
            if algorithm == "pbtnas":
                plan = self.budget.draw(
                    draw_inherited(rng, self.space.genes, base.genome, donor.genome, self.cfg.mix_probability),
                    lambda r: draw_inherited(r, self.space.genes, base.genome, donor.genome, self.cfg.mix_probability),
                    rng_for(self.cfg.seed, Purpose.BUDGET, step.end, uid),
                    MixPlan(-1, -1, (), tuple(base.genome)), "a child", lambda p: p.child_genome)
                genome = plan.child_genome
                for g in plan.inherited:
                    lineage[g] = list(donor.lineage[g]) + [uid]
                assert sp is not None
                calls.append(("make_child", (self.states[base.slot], self.states[donor.slot], list(plan.inherited),
                                             list(genome), (sp.shrink, sp.perturb), child_seed)))
                event["inherited"] = list(plan.inherited)
            else:  # mutation
                mplan = self.budget.draw(
                    draw_mutation(rng, self.option_counts, base.genome),
                    lambda r: draw_mutation(r, self.option_counts, base.genome),
                    rng_for(self.cfg.seed, Purpose.BUDGET, step.end, uid),
                    MutationPlan("copy", None, tuple(base.genome)), "a mutation", lambda p: p.child_genome)
                genome = mplan.child_genome
                if mplan.gene is not None:  # fresh weights: the layers of the gene and its linked genes originate here
                    for g in close_over_links(self.space.genes, [mplan.gene]):
                        lineage[g] = [uid]
                calls.append(("mutate", (self.states[base.slot], mplan.kind, mplan.gene, list(genome), child_seed)))
                event.update(mutation=mplan.kind, gene=mplan.gene)
                del event["donor_uid"]
            event["old_genome"], event["new_genome"] = list(replaced.genome), list(genome)
            origin = {k: v for k, v in event.items() if k not in ("slot", "replaced_uid", "replaced_fitness")}
            children.append(Member(slot=slot, uid=uid, genome=tuple(genome), lineage=lineage,
                                   born_epoch=step.end, origin=origin))
            self.costs[slot] = self.costs.get(base.slot, 0.0)  # the child is about as costly as its base
            events.append(event)
        # Every call takes the parents' post-training state refs, read before any slot is overwritten. The child is
        # made by the actor that trains it, right before its first job (``_close``); its state slot holds a future of
        # the ref meanwhile. ``_redo`` makes it again if that worker dies before the driver fetched the state.
        for (method, args), child in zip(calls, children, strict=True):
            self._redo[child.slot] = (method, args)
            self.members[child.slot] = child
            self.states[child.slot] = Future()
        return events

    def _uniform_genome(self, rng: Any) -> tuple[int, ...]:
        return tuple(int(rng.integers(c)) for c in self.option_counts)

    def _vary_random(self, step: Step) -> list[dict[str, Any]]:
        """Random search: no selection. A failed member is restarted as a new random genome trained from
        scratch (with the remaining budget); with shrink-perturb, every member is shrink-perturbed against a
        fresh network of its own genome before each step but the first (as the authors' code does)."""
        events: list[dict[str, Any]] = []
        rng = rng_for(self.cfg.seed, Purpose.RESTART, step.end)
        for m in list(self.members):
            if m.status != "failed":
                continue
            uid = self.next_uid
            self.next_uid += 1
            genome = self.budget.draw(self._uniform_genome(rng), self._uniform_genome,
                                      rng_for(self.cfg.seed, Purpose.BUDGET, step.end, uid), None, "a restart")
            ref = self.pool.run_calls("new_member", [(list(genome), derive_seed(self.cfg.seed, Purpose.MEMBER_INIT,
                                                                                 uid))])[0]
            self.members[m.slot] = Member(slot=m.slot, uid=uid, genome=genome, lineage=[[uid] for _ in genome],
                                          born_epoch=step.end, origin={"kind": "restart", "replaced_uid": m.uid})
            self.states[m.slot] = ref
            events.append({"kind": "restart", "slot": m.slot, "child_uid": uid, "replaced_uid": m.uid})
        sp = self.cfg.effective_shrink_perturb()
        if sp is not None:
            healthy = [m for m in self.members if m.origin.get("kind") != "restart" or m.born_epoch != step.end]
            calls = [
                (self.states[m.slot], list(m.genome), (sp.shrink, sp.perturb),
                 derive_seed(self.cfg.seed, Purpose.CHILD, step.end, m.uid))
                for m in healthy
            ]
            refs = self.pool.run_calls("perturb_all", calls)
            for m, ref in zip(healthy, refs, strict=True):
                self.states[m.slot] = ref
            events.append({"kind": "shrink_perturb_all", "slots": [m.slot for m in healthy]})
        return events

    # persistence -------------------------------------------------------------------------------------------
    @contextmanager
    def _persisting(self) -> Iterator[None]:
        """A failed write of the run (disk full, say) becomes one message naming the file and the last intact
        step; the half-written step is removed so the space it held is the user's again."""
        try:
            yield
        except WriteError as err:
            self.run.discard_staging()
            if self.committed is None:
                last = "none yet (the run was initialising)"
            else:
                last = f"epoch {self.committed}; its files are intact"
            full = err.errno in (errno.ENOSPC, errno.EDQUOT)
            message = (f"{err}\nthe last intact step of the run: {last}\n"
                       f"hint: {'free space' if full else 'fix the cause'}, then `pbtnas search --resume {self.run.root}`")
            log.error(message)
            raise RunDirError(message) from None

    def _commit(
        self,
        epoch: int,
        next_step: int,
        evaluated: list[dict[str, Any]],
        events: list[dict[str, Any]],
        staging: Any,
        wall: float,
    ) -> None:
        with self._persisting():
            # Order matters (docs/faults.md): checkpoints, population file, manifest (checksums of both and the
            # bookkeeping of this step), lineage.json, then progress.json, the commit point; older checkpoints are
            # pruned only after it, keeping the previous step as the fallback if this one is found damaged later.
            files = self.run.commit_checkpoints(epoch, staging)
            members_json = []
            for m in self.members:
                d = m.to_json()
                d["choices"] = self.space.to_json_genome(self.space.validate(list(m.genome)))["choices"]
                d.update(self.budget.member_costs(m.genome))  # parameters and multiply-adds per sample
                members_json.append(d)
            snapshot = {
                "epoch": epoch,
                "schema_hash": self.space.schema_hash,
                "members": members_json,
                "evaluated": evaluated,
                "events": events,
                "wall_seconds": wall,
            }
            files.update(self.run.write_population(epoch, snapshot))
            progress = {
                "epoch": epoch,
                "next_step": next_step,
                "total_epochs": self.cfg.epochs,
                "next_uid": self.next_uid,
                "best_ever": self.best_ever,
                "member_seconds": self.member_seconds,
                "failures": self.failures,
                "complete": epoch >= self.cfg.epochs,
            }
            # What a resume from this step restores, kept with the step (progress.json only points at the newest).
            manifest_sha = self.run.write_manifest(epoch, files, {"progress": progress,
                                                                  "lineage_history": self.lineage_history})
            self.run.write_lineage(self.lineage_history)
            self.run.write_progress(progress, manifest_sha)  # the commit point of the step
            with self._committed_cond:
                previous, self.committed = self.committed, epoch
                self._committed_cond.notify_all()
            self.run.prune_checkpoints([epoch] if previous is None else [previous, epoch])
            self.run.prune_best_ever_population(self.best_ever["epoch"] if self.best_ever else None)
            self.epoch = epoch

    def _all_failed(self, message: str) -> AllMembersFailed:
        """The error of a population with no healthy member, naming the cause of the first failure (the members
        usually fail alike: a network that does not fit the data, say)."""
        failed = [m for m in self.members if m.status == "failed" and m.error]
        if not failed:
            return AllMembersFailed(f"{message} (see {self.run.log_path})")
        first = min(failed, key=lambda m: (next((e for e, f in m.fitness if f == -math.inf), math.inf), m.slot))
        cause = first.error.strip().splitlines()[0] if first.error else "?"
        return AllMembersFailed(f"{message}; the first failure (member {first.uid}): {cause}\n"
                                f"every failure with its traceback is in {self.run.log_path}")

    def finish(self, wall: float) -> RunSummary:
        healthy = [m for m in self.members if m.status == "ok" and m.fitness]
        if not healthy:
            raise self._all_failed("every member of the final population failed")
        best = rank(healthy)[0]
        self._write_best("best", best, self.cfg.epochs)
        return RunSummary(
            best_fitness=best.fitness[-1][1],
            best_genome=best.genome,
            epochs=self.cfg.epochs,
            wall_seconds=wall,
            member_seconds=self.member_seconds,
            workers=len(self.pool),
            restarts=self.pool.restarts,
            failures=self.failures,
            fitness=[latest_fitness(m) for m in self.members],
        )
