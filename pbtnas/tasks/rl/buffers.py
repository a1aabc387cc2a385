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
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
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


class ReplayClient(Protocol):
    name: str

    def add_episode(self, episode: Episode, source: str = "") -> None: ...

    def sample(self, batch: int) -> dict[str, np.ndarray]: ...

    def stats(self) -> dict[str, float]: ...


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


# -- Ray actor stores ----------------------------------------------------------------------------------------------
class _StoreActor:
    """A ReplayStore in its own Ray actor (the class is wrapped with ``ray.remote`` on first use)."""

    def __init__(self, config: ReplayConfig, seed: int) -> None:
        self.store = ReplayStore(config)
        self.claims = _Claims()
        self.rng = np.random.default_rng(seed)

    def add_episode(self, episode: Episode, source: str = "") -> int:
        return self.store.add_episode(episode, source)

    def sample(self, batch: int) -> dict[str, np.ndarray]:
        return self.store.sample(batch, self.rng)

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
    def __init__(self, name: str, actor: Any) -> None:
        self.name = name
        self.actor = actor
        self._pending: Any = None
        self._pending_batch = 0

    def add_episode(self, episode: Episode, source: str = "") -> None:
        import ray

        # Wait for it: after this returns, every agent sampling from the store can draw the episode.
        ray.get(self.actor.add_episode.remote(episode, source))

    def sample(self, batch: int) -> dict[str, np.ndarray]:
        import ray

        if self._pending is None or self._pending_batch != batch:
            self._pending = self.actor.sample.remote(batch)
        out = ray.get(self._pending)
        self._pending, self._pending_batch = self.actor.sample.remote(batch), batch  # overlap with the update
        return out  # type: ignore[no-any-return]

    def stats(self) -> dict[str, float]:
        import ray

        return ray.get(self.actor.stats.remote())  # type: ignore[no-any-return]


class ReplayRegistry:
    """Finds (or creates) the store a member trains from; see the module docstring for the rules."""

    def __init__(self, run_key: str, config: ReplayConfig, *, shared: bool, use_ray: bool | None = None) -> None:
        self.run_key = run_key
        self.config = config
        self.shared = shared
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
            .remote(self.config, seed)
        )
        return _RayClient(name, actor)

    def _claim(self, client: ReplayClient, epoch: int) -> tuple[bool, int]:
        if isinstance(client, _LocalClient):
            store, claims = _LOCAL[client.name]
            return claims.claim(epoch, store.total)
        import ray

        return ray.get(client.actor.claim.remote(epoch))  # type: ignore[attr-defined,no-any-return]

    def _fork(self, source: ReplayClient, upto: int, seed: int) -> tuple[str, ReplayClient]:
        rid = uuid.uuid4().hex[:12]
        client = self._open(self._private_name(rid), seed)
        if isinstance(source, _LocalClient):
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
                if _LOCAL[name][1].last_epoch < before_epoch:
                    del _LOCAL[name]
                    freed += 1
            return freed
        import ray

        for name in ray.util.list_named_actors():
            if not name.startswith(prefix):
                continue
            try:
                actor = ray.get_actor(name)
                if ray.get(actor.last_claim.remote()) < before_epoch:
                    ray.kill(actor)
                    freed += 1
            except Exception:  # another worker freed it first
                continue
        return freed

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
        counters = {"replay_forked": 0.0, "replay_freed": 0.0}
        if self.shared:
            meta["replay"] = {"mode": "shared"}
            return self._open(self._shared_name(), seed), counters
        rid = info.get("id") or uuid.uuid4().hex[:12]
        client = self._open(self._private_name(rid), seed)
        first, total_at_claim = self._claim(client, start_epoch)
        if not first:  # another member (base or child) already trains from this store in this step
            rid, client = self._fork(client, total_at_claim, seed)
            self._claim(client, start_epoch)
            counters["replay_forked"] = 1.0
        previous = info.get("last_start")
        if isinstance(previous, int):
            counters["replay_freed"] = float(self._collect_garbage(previous))
        meta["replay"] = {"mode": "private", "id": rid, "last_start": start_epoch}
        return client, counters
