"""The replay store: a ring of time steps that keeps every frame once and rebuilds frame stacks when sampling.

DrQ-v2 stores each time step's *stacked* observation (9x84x84 = 63,504 bytes) in its episode files. Consecutive
stacks share two of their three frames, so this store keeps only the newest frame of each step (3x84x84 =
21,168 bytes) and rebuilds the stack from the ring on demand, three times less memory per transition.

Layout: absolute step indices grow forever; step ``k`` lives in slot ``k % capacity``. Whole episodes are appended
contiguously (agents append an episode when it ends, like DrQ-v2's episode files), so ``ep_start``/``ep_end`` tell
for every step which episode it belongs to. Writing over the oldest slots is the eviction; a sample is valid when
every step it reads (its frame stack, the n-step window, the next stack) is still in the ring.

Convention (dm_env's): step t holds obs_t, the action that led to it, and the reward and discount received on
arriving. A transition starting at step j is (obs_j, action_{j+1}, R, D, obs_{j+n}) with the n-step sums of
:func:`nstep_return`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Episode", "EpisodeBuilder", "ReplayConfig", "ReplayStore", "NotEnoughData", "SnapshotError", "nstep_return",
]


class NotEnoughData(RuntimeError):
    """The store holds no complete n-step transition yet."""


class SnapshotError(ValueError):
    """A replay snapshot that is missing or does not fit the store (the message is meant for the user)."""


def nstep_return(rewards: np.ndarray, discounts: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """n-step return and bootstrap discount for rewards/discounts [B, n] received on steps j+1..j+n.

    R = sum_i (prod_{k<i} gamma * d_{j+k}) * r_{j+i}, D = prod_i gamma * d_{j+i}: a terminal step (d = 0) cuts both
    the later rewards and the bootstrap. Returned as float32 [B, 1] each.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    discounts = np.asarray(discounts, dtype=np.float64)
    ret = np.zeros(rewards.shape[0])
    disc = np.ones(rewards.shape[0])
    for i in range(rewards.shape[1]):
        ret += disc * rewards[:, i]
        disc *= discounts[:, i] * gamma
    return ret.astype(np.float32)[:, None], disc.astype(np.float32)[:, None]


@dataclass
class Episode:
    """One episode as appended to a store: row t is time step t (row 0 is the reset step)."""

    frames: np.ndarray  # [T+1, *frame_shape]
    actions: np.ndarray  # [T+1, A], row 0 zeros
    rewards: np.ndarray  # [T+1], row 0 zero
    discounts: np.ndarray  # [T+1], row 0 one

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum())


@dataclass
class EpisodeBuilder:
    """Collects the time steps of the running episode."""

    action_dim: int
    frames: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    discounts: list[float] = field(default_factory=list)

    def append(self, frame: np.ndarray, action: np.ndarray | None, reward: float, discount: float) -> None:
        self.frames.append(frame)
        self.actions.append(np.zeros(self.action_dim, np.float32) if action is None else np.asarray(action, np.float32))
        self.rewards.append(reward)
        self.discounts.append(discount)

    def __len__(self) -> int:
        return len(self.frames)

    def build(self) -> Episode:
        return Episode(
            frames=np.stack(self.frames),
            actions=np.stack(self.actions),
            rewards=np.asarray(self.rewards, np.float32),
            discounts=np.asarray(self.discounts, np.float32),
        )


@dataclass(frozen=True)
class ReplayConfig:
    capacity: int  # time steps (≈ transitions) held
    frame_shape: tuple[int, ...]  # (3, 84, 84) for pixels, (D,) for state
    frame_dtype: str  # "uint8" or "float32"
    action_dim: int
    frame_stack: int  # 3 for pixels, 1 for state
    nstep: int
    gamma: float


class ReplayStore:
    """A ring buffer of time steps; see the module docstring. Not thread-safe (a Ray actor serialises calls)."""

    def __init__(self, config: ReplayConfig) -> None:
        c = config
        if c.capacity < 2:
            raise ValueError("replay capacity must be at least 2")
        self.config = c
        self.frames = np.zeros((c.capacity, *c.frame_shape), dtype=np.dtype(c.frame_dtype))
        self.actions = np.zeros((c.capacity, c.action_dim), dtype=np.float32)
        self.rewards = np.zeros(c.capacity, dtype=np.float32)
        self.discounts = np.zeros(c.capacity, dtype=np.float32)
        self.ep_start = np.zeros(c.capacity, dtype=np.int64)  # absolute index of the step's episode start
        self.ep_end = np.zeros(c.capacity, dtype=np.int64)  # absolute index of the episode's last step
        self.total = 0  # absolute steps ever written
        self.episodes = 0
        self.sources: dict[str, int] = {}  # writer name -> episodes written (who filled a shared store)

    # -- writing ----------------------------------------------------------------------------------------------
    def add_episode(self, episode: Episode, source: str = "") -> int:
        """Append a whole episode; returns the absolute index of its first step."""
        n = len(episode)
        if n > self.config.capacity:
            raise ValueError(f"an episode of {n} steps does not fit in a replay of capacity {self.config.capacity}")
        if n < 2:
            return self.total  # a reset step alone holds no transition
        start = self.total
        slots = np.arange(start, start + n) % self.config.capacity
        self.frames[slots] = episode.frames
        self.actions[slots] = episode.actions
        self.rewards[slots] = episode.rewards
        self.discounts[slots] = episode.discounts
        self.ep_start[slots] = start
        self.ep_end[slots] = start + n - 1
        self.total += n
        self.episodes += 1
        self.sources[source] = self.sources.get(source, 0) + 1
        return start

    # -- reading ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return min(self.total, self.config.capacity)

    @property
    def oldest(self) -> int:
        return max(0, self.total - self.config.capacity)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.frames, self.actions, self.rewards, self.discounts, self.ep_start, self.ep_end))

    def _valid(self, j: np.ndarray) -> np.ndarray:
        cap, k, n = self.config.capacity, self.config.frame_stack, self.config.nstep
        slot = j % cap
        start, end = self.ep_start[slot], self.ep_end[slot]
        first_needed = np.maximum(j - (k - 1), start)
        return (j + n <= end) & (first_needed >= self.oldest) & (j >= start)

    def _stack(self, j: np.ndarray, start: np.ndarray) -> np.ndarray:
        cap, k = self.config.capacity, self.config.frame_stack
        if k == 1:
            return self.frames[j % cap]
        parts = [self.frames[np.maximum(j - o, start) % cap] for o in range(k - 1, -1, -1)]
        return np.concatenate(parts, axis=1)  # [B, 3k, H, W]: oldest frame first, as the env stacks them

    def sample_indices(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """``batch`` valid start indices, uniform over the valid transitions (rejection sampling)."""
        lo, hi = self.oldest, self.total
        chosen: list[np.ndarray] = []
        have = 0
        for _ in range(100):
            if hi - lo <= self.config.nstep:
                break
            cand = rng.integers(lo, hi, size=2 * batch + 8)
            cand = cand[self._valid(cand)]
            chosen.append(cand)
            have += cand.size
            if have >= batch:
                return np.concatenate(chosen)[:batch]
        raise NotEnoughData(
            f"the replay holds no complete {self.config.nstep}-step transition yet ({len(self)} steps stored)"
        )

    def sample(self, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A batch of n-step transitions: obs, action, reward [B,1], discount [B,1] (γ^n included), next_obs."""
        cap, n = self.config.capacity, self.config.nstep
        j = self.sample_indices(batch, rng)
        start = self.ep_start[j % cap]
        window = j[:, None] + np.arange(1, n + 1)[None, :]  # steps j+1..j+n
        reward, discount = nstep_return(self.rewards[window % cap], self.discounts[window % cap], self.config.gamma)
        return {
            "obs": self._stack(j, start),
            "action": self.actions[(j + 1) % cap],
            "reward": reward,
            "discount": discount,
            "next_obs": self._stack(j + n, start),
        }

    def stats(self) -> dict[str, float]:
        return {
            "steps": float(len(self)),
            "episodes": float(self.episodes),
            "total_written": float(self.total),
            "bytes": float(self.nbytes()),
            "bytes_per_transition": self.nbytes() / self.config.capacity,
        }

    # -- copying (children that inherit a private buffer) -------------------------------------------------------
    def export(self, upto: int | None = None) -> dict[str, np.ndarray | int]:
        """The stored steps with absolute index < ``upto`` (default: all), oldest first, for :meth:`load`."""
        upto = self.total if upto is None else min(upto, self.total)
        idx = np.arange(self.oldest, upto)
        slots = idx % self.config.capacity
        return {
            "frames": self.frames[slots],
            "actions": self.actions[slots],
            "rewards": self.rewards[slots],
            "discounts": self.discounts[slots],
            "ep_start": self.ep_start[slots] - self.oldest,
            "ep_end": np.minimum(self.ep_end[slots], upto - 1) - self.oldest,
            "episodes": self.episodes,
        }

    def load(self, data: dict[str, np.ndarray | int]) -> None:
        """Replace the contents by an :meth:`export` (of a store with the same config)."""
        frames = np.asarray(data["frames"])
        m = min(frames.shape[0], self.config.capacity)
        cut = frames.shape[0] - m  # keep the newest steps if the exporter was larger
        for name in ("frames", "actions", "rewards", "discounts"):
            getattr(self, name)[:m] = np.asarray(data[name])[cut:]
        self.ep_start[:m] = np.asarray(data["ep_start"])[cut:] - cut  # may go negative: that episode's head is gone
        self.ep_end[:m] = np.asarray(data["ep_end"])[cut:] - cut
        self.total = m
        self.episodes = int(data["episodes"])

    # -- snapshots (replay_checkpoint: exact resume) -------------------------------------------------------------
    def save(self, path: Path) -> int:
        """Write the ring exactly as it is (slots, absolute indices, counters) to ``path`` (.npz, atomically);
        returns the bytes written. :meth:`restore` of the file gives a store that samples exactly as this one
        (the same draws give the same transitions) and then goes on like it."""
        n = len(self)  # slots 0..n-1 are the written ones (the ring fills from slot 0)
        names = sorted(self.sources)
        arrays = {
            "frames": self.frames[:n], "actions": self.actions[:n], "rewards": self.rewards[:n],
            "discounts": self.discounts[:n], "ep_start": self.ep_start[:n], "ep_end": self.ep_end[:n],
            "counters": np.array([self.total, self.episodes, self.config.capacity], dtype=np.int64),
            "source_names": np.array(names, dtype=np.str_), "source_counts": np.array(
                [self.sources[k] for k in names], dtype=np.int64),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)  # uncompressed: pixels barely compress and saving must not slow training
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path.stat().st_size

    def restore(self, path: Path | None) -> None:
        """Make this store what :meth:`save` wrote to ``path`` (``None``: empty, as a store that never saw data)."""
        c = self.config
        if path is None:
            self.total, self.episodes, self.sources = 0, 0, {}
            return
        path = Path(path)
        if not path.exists():
            raise SnapshotError(
                f"replay snapshot {path} is missing; with replay_checkpoint on, the run directory must be on a "
                "filesystem every node of the cluster sees, and its workdirs/replay folder must not be deleted"
            )
        with np.load(path, allow_pickle=False) as data:
            total, episodes, capacity = (int(v) for v in data["counters"])
            frames = data["frames"]
            if capacity != c.capacity or frames.shape[1:] != c.frame_shape or frames.dtype != np.dtype(c.frame_dtype):
                raise SnapshotError(
                    f"replay snapshot {path} holds capacity {capacity}, frames {frames.dtype} {frames.shape[1:]}; "
                    f"this run's store needs capacity {c.capacity}, frames {c.frame_dtype} {c.frame_shape}"
                )
            n = frames.shape[0]
            self.frames[:n] = frames
            del frames  # one array at a time in memory besides the ring
            for name in ("actions", "rewards", "discounts", "ep_start", "ep_end"):
                getattr(self, name)[:n] = data[name]
            self.total, self.episodes = total, episodes
            self.sources = {str(k): int(v) for k, v in zip(data["source_names"], data["source_counts"])}
