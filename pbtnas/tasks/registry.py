"""Task names -> task classes. Task modules are imported lazily, by name, so that a task whose optional
dependencies are missing (dm_control for ``rl``, say) does not break the others."""

from __future__ import annotations

import importlib

from pbtnas.tasks.base import Task
from pbtnas.errors import UserError

__all__ = ["TASK_MODULES", "UnknownTask", "get_task", "task_names"]

# name -> "module:Class". Users can plug their own task in with a "module:Class" string instead of a name.
TASK_MODULES: dict[str, str] = {
    "classify": "pbtnas.tasks.classify:ClassifyTask",
    "gan": "pbtnas.tasks.gan:GanTask",
    "rl": "pbtnas.tasks.rl:RLTask",
}


class UnknownTask(UserError, ValueError):
    """A task name that is neither registered nor an importable ``module:Class``."""


def task_names() -> tuple[str, ...]:
    return tuple(TASK_MODULES)


def get_task(name: str) -> type[Task]:
    """The task class registered as ``name`` (or given as ``"package.module:Class"``)."""
    target = TASK_MODULES.get(name, name)
    if ":" not in target:
        raise UnknownTask(f"unknown task {name!r}; known tasks: {', '.join(TASK_MODULES)} (or give 'module:Class')")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UnknownTask(f"task {name!r} cannot be imported ({module_name}): {err}") from err
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UnknownTask(f"task {name!r}: module {module_name} has no class {class_name}")
    if not isinstance(cls, type) or not hasattr(cls, "Options"):  # `os:system`, a typo naming a function
        raise UnknownTask(f"task {name!r}: {target} is not a task class (a class with an Options model)")
    return cls  # type: ignore[no-any-return]
