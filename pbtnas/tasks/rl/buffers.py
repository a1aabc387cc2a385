"""Where a member's replay lives: private stores per member, or one shared store per machine.

Without Ray (tests, benchmarks, a single agent) stores live in this process, in a process-wide table keyed by name,
so two agents in one process that name the same shared store read and write one copy. Under Ray every store is a
named actor:

* ``--shared-replay``: one actor per node, ``<run>/node-<node id>``, pinned to that node. Every agent on the node
  appends its finished episodes to it and samples batches from it, so N agents hold ONE copy of the data, and
  agents see each other's episodes (the paper's choice for walker and humanoid; agents on different machines do
  not share, as in the paper). Batches travel through Ray's shared-memory object store on the same node; the client
  keeps one batch in flight so that sampling overlaps the update.
* private (default): one actor per member, ``<run>/member-<id>``, found by name from whichever worker trains the
  member next, so a member's experience survives moving between workers.

**Which buffer a child keeps.** A child replaces a member after mixing. Its metadata (``state["meta"]``) is the
base parent's (docs/contracts.md: everything not owned by an inherited gene stays the base's), so it names the
base's buffer. We keep that deliberately: the child is the base plus some donor layers (75% of the genes, the
optimizer state and the step counter are the base's), so the base's experience matches its policy best. The
reference gives the child a copy of the *donor's* episodes instead, an artefact of copying the donor's work
directory. The copy happens lazily: the first member to train from a store in a given step keeps it; a second
member presenting the same store id at the same start epoch (the child, or base, whichever comes second) gets a
fork holding the store's contents as they were when the step began. Stores nobody claimed in the step before the
caller's previous one are freed (this assumes the synchronous generations of the reference loop).

**Snapshots** (``replay_checkpoint``, private stores only). After a member trains, its store is saved to
``<workdir>/replay/<store id>/epoch_<E>.npz`` (the ring exactly, see ReplayStore.save) and ``meta["replay"]`` names
the file and the store's size. When a member starts training and its store is not that size (a new cluster after
a crash has no stores; a surviving store may hold episodes of a step that was killed), the store is restored from
the file; a fork is made from the file too. So a member always trains from exactly the data its checkpoint saw,
and a resumed run samples the same batches as an uninterrupted one. Batches are drawn with a seed the client
derives from the member's train seed, never from a generator that lives in the store across steps.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pbtnas.tasks.rl.replay import Episode, ReplayConfig, ReplayStore

__all__ = ["ReplayClient", "ReplayRegistry", "local_stores"]


@dataclass
class _Claims:
    """Which start epochs a store was trained from, and how full it was at the first claim of each."""

    first_total: dict[int, int] = field(default_factory=dict)
    last_epoch: int = -1

    def claim(self, epoch: int, total: int) -> tuple[bool, int]:
        self.last_epoch = max(self.last_epoch, epoch)
        if epoch in self.first_total:
            return False, self.first_total[epoch]
        self.first_total[epoch] = total
        return True, total


def _snapshot_epoch(path: Path) -> int:
    try:
        return int(path.stem.split("_", 1)[1])
    except (IndexError, ValueError):
        return -1


class ReplayClient(Protocol):
    name: str

    def add_episode(self, episode: Episode, source: str = "") -> None: ...

    def sample(self, batch: int) -> dict[str, np.ndarray]: ...

    def stats(self) -> dict[str, float]: ...

    def save(self, path: Path) -> int: ...

    def restore(self, path: Path | None) -> None: ...


# -- in-process stores ---------------------------------------------------------------------------------------------
_LOCAL: dict[str, tuple[ReplayStore, _Claims]] = {}


def local_stores() -> dict[str, ReplayStore]:
    """The stores held by this process (for benchmarks and tests)."""
    return {name: store for name, (store, _) in _LOCAL.items()}


class _LocalClient:
    def __init__(self, name: str, store: ReplayStore, seed: int) -> None:
        self.name = name
        self.store = store
        self._rng = np.random.default_rng(seed)

    def add_episode(self, episode: Episode, source: str = "") -> None:
        self.store.add_episode(episode, source)

    def sample(self, batch: int) -> dict[str, np.ndarray]:
        return self.store.sample(batch, self._rng)

    def stats(self) -> dict[str, float]:
        return self.store.stats()

    def save(self, path: Path) -> int:
        return self.store.save(path)

    def restore(self, path: Path | None) -> None:
        self.store.restore(path)


# -- Ray actor stores ----------------------------------------------------------------------------------------------
class _StoreActor:
    """A ReplayStore in its own Ray actor (the class is wrapped with ``ray.remote`` on first use)."""

    def __init__(self, config: ReplayConfig) -> None:
        self.store = ReplayStore(config)
        self.claims = _Claims()

    def add_episode(self, episode: Episode, source: str = "") -> int:
        return self.store.add_episode(episode, source)

    def sample(self, batch: int, seed: int) -> dict[str, np.ndarray]:
        # The caller's seed, not a generator living in the actor: the actor outlives train calls (and is gone after
        # a crash), so its own stream would make a batch depend on the store's history, not the member's seed.
        return self.store.sample(batch, np.random.default_rng(seed))

    def save(self, path: str) -> int:
        # The actor writes the file itself: the data never travels to the worker.
        return self.store.save(Path(path))

    def restore(self, path: str | None) -> None:
        self.store.restore(None if path is None else Path(path))

    def stats(self) -> dict[str, float]:
        return self.store.stats()

    def claim(self, epoch: int) -> tuple[bool, int]:
        return self.claims.claim(epoch, self.store.total)

    def last_claim(self) -> int:
        return self.claims.last_epoch

    def export(self, upto: int | None = None) -> dict[str, Any]:
        return self.store.export(upto)

    def load(self, data: dict[str, Any]) -> None:
        self.store.load(data)


_REMOTE_CLS: Any = None


def _remote_cls() -> Any:
    global _REMOTE_CLS
    if _REMOTE_CLS is None:
        import ray

        # num_cpus=0: the store is idle most of the time and must not take a slot a training member needs.
        _REMOTE_CLS = ray.remote(num_cpus=0)(_StoreActor)
    return _REMOTE_CLS


class _RayClient:
    def __init__(self, name: str, actor: Any, seed: int) -> None:
        self.name = name
        self.actor = actor
        self._rng = np.random.default_rng(seed)
        self._pending: Any = None
        self._pending_batch = 0

    def _seed(self) -> int:
        return int(self._rng.integers(2**63))

    def add_episode(self, episode: Episode, source: str = "") -> None:
        import ray

        # Wait for it: after this returns, every agent sampling from the store can draw the episode.
        ray.get(self.actor.add_episode.remote(episode, source))

    def sample(self, batch: int) -> dict[str, np.ndarray]:
        import ray

        if self._pending is None or self._pending_batch != batch:
            self._pending = self.actor.sample.remote(batch, self._seed())
        out = ray.get(self._pending)
        # overlap with the update; an actor runs one caller's calls in order, so this batch is drawn before the
        # episodes the agent appends meanwhile, in every run alike
        self._pending, self._pending_batch = self.actor.sample.remote(batch, self._seed()), batch
        return out  # type: ignore[no-any-return]

    def stats(self) -> dict[str, float]:
        import ray

        return ray.get(self.actor.stats.remote())  # type: ignore[no-any-return]

    def save(self, path: Path) -> int:
        import ray

        return ray.get(self.actor.save.remote(str(path)))  # type: ignore[no-any-return]

    def restore(self, path: Path | None) -> None:
        import ray

        ray.get(self.actor.restore.remote(None if path is None else str(path)))


class ReplayRegistry:
    """Finds (or creates) the store a member trains from; see the module docstring for the rules."""

    def __init__(
        self,
        run_key: str,
        config: ReplayConfig,
        *,
        shared: bool,
        use_ray: bool | None = None,
        snapshot_dir: Path | None = None,
    ) -> None:
        if shared and snapshot_dir is not None:
            raise ValueError("replay snapshots are for private stores only (a shared store's order is not replayable)")
        self.run_key = run_key
        self.config = config
        self.shared = shared
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir is not None else None
        if use_ray is None:
            try:
                import ray

                use_ray = ray.is_initialized()
            except ImportError:
                use_ray = False
        self.use_ray = use_ray

    # -- names -------------------------------------------------------------------------------------------------
    def _shared_name(self) -> str:
        if self.use_ray:
            import ray

            return f"pbtnas-replay/{self.run_key}/node-{ray.get_runtime_context().get_node_id()}"
        return f"pbtnas-replay/{self.run_key}/shared"

    def _private_name(self, rid: str) -> str:
        return f"pbtnas-replay/{self.run_key}/member-{rid}"

    # -- stores ------------------------------------------------------------------------------------------------
    def _open(self, name: str, seed: int) -> ReplayClient:
        if not self.use_ray:
            if name not in _LOCAL:
                _LOCAL[name] = (ReplayStore(self.config), _Claims())
            return _LocalClient(name, _LOCAL[name][0], seed)
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = ray.get_runtime_context().get_node_id()
        actor = (
            _remote_cls()
            .options(
                name=name,
                get_if_exists=True,
                # detached: a store must outlive the worker that happened to create it (workers may be one-shot);
                # ReplayRegistry.release() frees a run's stores at its end
                lifetime="detached",
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=True),
            )
            .remote(self.config)
        )
        return _RayClient(name, actor, seed)

    def _claim(self, client: ReplayClient, epoch: int) -> tuple[bool, int]:
        if isinstance(client, _LocalClient):
            store, claims = _LOCAL[client.name]
            return claims.claim(epoch, store.total)
        import ray

        return ray.get(client.actor.claim.remote(epoch))  # type: ignore[attr-defined,no-any-return]

    def _fork(
        self, source: ReplayClient, upto: int, seed: int, epoch: int, snapshot: Path | None = None
    ) -> tuple[str, ReplayClient]:
        rid = uuid.uuid4().hex[:12]
        client = self._open(self._private_name(rid), seed)
        # claimed before it is filled: another member's garbage collection must not take it for a dead store
        self._claim(client, epoch)
        if self.snapshot_dir is not None:  # exact: the ring as the checkpoint saw it, even if it has evicted since
            client.restore(snapshot)
        elif isinstance(source, _LocalClient):
            assert isinstance(client, _LocalClient)
            client.store.load(source.store.export(upto))
        else:
            import ray

            data = source.actor.export.remote(upto)  # type: ignore[attr-defined]
            ray.get(client.actor.load.remote(data))  # type: ignore[attr-defined]
        return rid, client

    def _collect_garbage(self, before_epoch: int) -> int:
        """Free private stores of this run that no member claimed since ``before_epoch``; returns how many."""
        prefix = f"pbtnas-replay/{self.run_key}/member-"
        freed = 0
        if not self.use_ray:
            for name in [n for n in _LOCAL if n.startswith(prefix)]:
                if 0 <= _LOCAL[name][1].last_epoch < before_epoch:
                    del _LOCAL[name]
                    freed += 1
            return freed
        import ray

        for name in ray.util.list_named_actors():
            if not name.startswith(prefix):
                continue
            try:
                actor = ray.get_actor(name)
                # -1: just opened by a member that has not claimed it yet, not a dead member's store
                if 0 <= ray.get(actor.last_claim.remote()) < before_epoch:
                    ray.kill(actor)
                    freed += 1
            except Exception:  # another worker freed it first
                continue
        return freed

    # -- snapshots ---------------------------------------------------------------------------------------------
    def _snapshot_path(self, info: dict[str, Any]) -> Path | None:
        rel = info.get("snapshot")
        if not rel or self.snapshot_dir is None:
            return None
        return self.snapshot_dir / str(rel)

    def checkpoint(self, client: ReplayClient, meta: dict[str, Any], end_epoch: int) -> int:
        """Save the member's store after training up to ``end_epoch`` and record it in ``meta["replay"]``; delete
        this store's snapshots older than the step just trained (none can be needed: every member of a step starts
        from that step's snapshots). Returns the bytes written; 0 when snapshots are off or the store is shared."""
        info = dict(meta.get("replay") or {})
        if self.snapshot_dir is None or info.get("mode") != "private":
            return 0
        rel = f"{info['id']}/epoch_{end_epoch:06d}.npz"
        nbytes = client.save(self.snapshot_dir / rel)
        start = int(info.get("last_start", end_epoch))
        for old in (self.snapshot_dir / str(info["id"])).glob("epoch_*.npz"):
            if _snapshot_epoch(old) < start:
                old.unlink(missing_ok=True)
        info.update(snapshot=rel, total=int(client.stats()["total_written"]))
        meta["replay"] = info
        return nbytes

    def _collect_snapshots(self, before_epoch: int) -> None:
        """Delete the snapshot folders of stores whose newest snapshot is older than ``before_epoch``: members that
        were replaced. File-based, so it also works after a resume, when no store remembers its claims."""
        if self.snapshot_dir is None or not self.snapshot_dir.is_dir():
            return
        for folder in self.snapshot_dir.iterdir():
            epochs = [_snapshot_epoch(p) for p in folder.glob("epoch_*.npz")]
            if folder.is_dir() and epochs and max(epochs) < before_epoch:
                shutil.rmtree(folder, ignore_errors=True)

    def release(self) -> int:
        """Free every store of this run (call when the run ends); returns how many."""
        prefix = f"pbtnas-replay/{self.run_key}/"
        if not self.use_ray:
            names = [n for n in _LOCAL if n.startswith(prefix)]
            for n in names:
                del _LOCAL[n]
            return len(names)
        import ray

        freed = 0
        for name in ray.util.list_named_actors():
            if name.startswith(prefix):
                try:
                    ray.kill(ray.get_actor(name))
                    freed += 1
                except ValueError:
                    continue
        return freed

    def for_member(self, meta: dict[str, Any], start_epoch: int, seed: int) -> tuple[ReplayClient, dict[str, float]]:
        """The store for a member about to train from ``start_epoch``; updates ``meta["replay"]`` in place."""
        info: dict[str, Any] = dict(meta.get("replay") or {})
        counters = {"replay_forked": 0.0, "replay_freed": 0.0, "replay_restored": 0.0}
        if self.shared:
            meta["replay"] = {"mode": "shared"}
            return self._open(self._shared_name(), seed), counters
        rid = info.get("id") or uuid.uuid4().hex[:12]
        client = self._open(self._private_name(rid), seed)
        first, total_at_claim = self._claim(client, start_epoch)
        snapshot = self._snapshot_path(info)
        if not first:  # another member (base or child) already trains from this store in this step
            rid, client = self._fork(client, total_at_claim, seed, start_epoch, snapshot)
            counters["replay_forked"] = 1.0
        elif self.snapshot_dir is not None and total_at_claim != int(info.get("total", 0)):
            # not the store this member's checkpoint saw: a new cluster (empty) or a killed step's leftovers
            client.restore(snapshot)
            counters["replay_restored"] = 1.0
        previous = info.get("last_start")
        if isinstance(previous, int):
            counters["replay_freed"] = float(self._collect_garbage(previous))
            self._collect_snapshots(previous)
        meta["replay"] = {"mode": "private", "id": rid, "last_start": start_epoch}
        if self.snapshot_dir is not None:
            meta["replay"].update({k: info[k] for k in ("snapshot", "total") if k in info})
        return client, counters
