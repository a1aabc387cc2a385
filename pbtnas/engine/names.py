"""Names and paths that come from users or from files: checked before they become part of a path.

Two kinds, two rules. A *name* (a soup folder, a saved network such as ``best``, a run name built from a space's
name, an experiment's config stem) becomes one component inside a directory pbtnas owns, so it must not be able to
leave it: no separator, no ``..``, not absolute, no NUL. An *output path* (``--out``, ``--video``) is where the
user asked us to write; it may be absolute or relative anywhere they like, but it must be a path the OS can take
(no NUL byte, not empty), so a typo is a diagnostic instead of a traceback from deep inside a write.
"""

from __future__ import annotations

import os
from pathlib import Path

from pbtnas.errors import UserError

__all__ = ["UnsafeName", "inside", "output_path", "safe_name"]

# Longer components fail with ENAMETOOLONG on the common file systems; say so up front.
MAX_NAME = 200


class UnsafeName(UserError, ValueError):
    """A name or path a user (or a file) gave that pbtnas refuses to turn into a file system path."""


def _control(text: str) -> str | None:
    for ch in text:
        if ch == "\x00":
            return "a NUL byte"
        if ord(ch) < 32 or ord(ch) == 127:
            return f"the control character {ch!r}"
    return None


def safe_name(value: object, what: str) -> str:
    """``value`` as a single path component that stays inside its parent directory, else ``UnsafeName``."""
    if not isinstance(value, str):
        raise UnsafeName(f"{what} must be a name (text), got {type(value).__name__} {value!r}")
    problem = None
    if not value.strip():
        problem = "it is empty"
    elif bad := _control(value):
        problem = f"it contains {bad}"
    elif "/" in value or "\\" in value or (os.sep in value) or (os.altsep and os.altsep in value):
        problem = "it contains a path separator"
    elif value in (".", ".."):
        problem = "it names the directory itself or its parent"
    elif value.startswith("."):
        problem = "it starts with '.' (pbtnas keeps its temporary folders there)"
    elif len(value) > MAX_NAME:
        problem = f"it is {len(value)} characters long (at most {MAX_NAME})"
    if problem:
        raise UnsafeName(f"{what} {value!r} is not a plain name: {problem}; use letters, digits, '-', '_' and '.'")
    return value


def output_path(value: str | Path, what: str) -> Path:
    """A path the user chose to write to: any location, but a well-formed one."""
    text = os.fspath(value)
    if not text.strip():
        raise UnsafeName(f"{what} is empty; give a path")
    if bad := _control(text):
        raise UnsafeName(f"{what} {text!r} contains {bad}")
    return Path(text)


def inside(root: Path, path: Path, what: str) -> Path:
    """``path`` if it resolves inside ``root`` (symlinks followed), else ``UnsafeName``: the last line of defence
    for paths assembled from several parts."""
    resolved_root = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UnsafeName(f"{what} {path} would be outside {root}")
    return path
