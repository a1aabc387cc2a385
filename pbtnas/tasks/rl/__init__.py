"""Pixel- and state-based RL on the DeepMind Control Suite with DrQ-v2 agents (issue 5; docs/rl.md).

``RLTask`` is what the registry names ``rl``. Exports load lazily so that importing a submodule (the env wrapper,
the replay store) does not pull in the agent; dm_control itself is imported only when an environment is made:
with rendering disabled for state observations, after the rendering backend has been chosen for pixels (gl.py).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RLOptions", "RLTask", "env_spec", "space_overrides"]

_WHERE = {
    "RLOptions": "pbtnas.tasks.rl.options",
    "RLTask": "pbtnas.tasks.rl.task",
    "env_spec": "pbtnas.tasks.rl.task",
    "space_overrides": "pbtnas.tasks.rl.task",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'pbtnas.tasks.rl' has no attribute {name!r}")
