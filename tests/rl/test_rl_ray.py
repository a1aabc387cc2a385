"""Shared replay under Ray: agents in different worker processes on one node use ONE store actor."""

from __future__ import annotations

from typing import Any

import numpy as np

from pbtnas.tasks.rl.replay import Episode, ReplayConfig

CONFIG = ReplayConfig(capacity=500, frame_shape=(3, 2, 2), frame_dtype="uint8", action_dim=1, frame_stack=3,
                      nstep=1, gamma=0.99)


def episode(label: int, length: int = 10) -> Episode:
    labels = label + np.arange(length + 1)
    frames = np.broadcast_to(labels[:, None, None, None], (length + 1, 3, 2, 2)).astype(np.uint8).copy()
    return Episode(frames=frames, actions=labels[:, None].astype(np.float32),
                   rewards=np.ones(length + 1, np.float32), discounts=np.ones(length + 1, np.float32))


def agent(run: str, ep: Episode, name: str) -> tuple[str, int]:
    """What a member's training does with its replay: find the node's shared store, add an episode."""
    import os

    from pbtnas.tasks.rl.buffers import ReplayRegistry

    client, _ = ReplayRegistry(run, CONFIG, shared=True, use_ray=True).for_member({}, 0, seed=1)
    client.add_episode(ep, name)
    return client.name, os.getpid()


def sample_labels(run: str) -> set[int]:
    from pbtnas.tasks.rl.buffers import ReplayRegistry

    client, _ = ReplayRegistry(run, CONFIG, shared=True, use_ray=True).for_member({}, 0, seed=2)
    return set(client.sample(400)["obs"][:, 6, 0, 0].tolist())


def test_agents_in_two_processes_share_one_store(free_ray: str) -> None:
    import sys

    import ray
    from ray import cloudpickle

    # the test package is not importable in workers: ship these functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    remote_agent: Any = ray.remote(num_cpus=1, max_calls=1)(agent)  # a fresh worker process per call
    # run them one after the other: each in a worker process of its own, never the driver's
    name_a, pid_a = ray.get(remote_agent.remote("ray-run", episode(10), "a"))
    name_b, pid_b = ray.get(remote_agent.remote("ray-run", episode(100), "b"))
    assert pid_a != pid_b and name_a == name_b and name_a.startswith("pbtnas-replay/ray-run/node-")
    labels = ray.get(ray.remote(num_cpus=1)(sample_labels).remote("ray-run"))
    assert labels & set(range(10, 20)) and labels & set(range(100, 110))
    stores = [n for n in ray.util.list_named_actors() if n.startswith("pbtnas-replay/ray-run/")]
    assert stores == [name_a]  # one copy for the node
    stats = ray.get(ray.get_actor(name_a).stats.remote())
    assert stats["episodes"] == 2.0
    from pbtnas.tasks.rl.buffers import ReplayRegistry

    assert ReplayRegistry("ray-run", CONFIG, shared=True, use_ray=True).release() == 1
    assert not [n for n in ray.util.list_named_actors() if n.startswith("pbtnas-replay/ray-run/")]
