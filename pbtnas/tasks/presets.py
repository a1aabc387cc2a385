"""Task presets: a named set of option values that fills every option the user did not give (the user's values
win). The gan, rl and classify tasks' options apply theirs with these."""

from __future__ import annotations

from typing import Any

__all__ = ["fill_preset", "with_named_preset"]


def fill_preset(values: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over the preset's ``values``; a None the user gave does not hide a preset value."""
    return {**values, **{k: v for k, v in given.items() if v is not None or k not in values}}


def with_named_preset(data: Any, presets: dict[str, dict[str, Any]], task: str) -> Any:
    """The raw options ``data`` with the preset its ``preset`` key names (default ``"default"``) filled in; for a
    pydantic ``model_validator(mode="before")``, so anything not a dict is left for pydantic to report."""
    if not isinstance(data, dict):
        return data
    name = data.get("preset", "default")
    if not isinstance(name, str):
        return data  # pydantic reports the type error
    if name not in presets:
        raise ValueError(f"unknown {task} preset {name!r}; known presets: {', '.join(presets)}")
    return fill_preset(presets[name], data)
