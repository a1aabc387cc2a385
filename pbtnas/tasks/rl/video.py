"""Writing an evaluation episode as a video (mp4 through imageio-ffmpeg's bundled ffmpeg, or gif through Pillow)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["VideoUnavailable", "write_video"]


class VideoUnavailable(RuntimeError):
    """No writer for the requested video format."""


def write_video(frames: Sequence[np.ndarray], path: Path, fps: int = 25) -> Path:
    """Write uint8 [H, W, 3] frames to ``path`` (.mp4 or .gif), atomically (temporary file, then rename)."""
    if not frames:
        raise ValueError("no frames to write")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise VideoUnavailable(f"video format {suffix or '(none)'} is not supported; use .mp4 or .gif")
    try:
        import imageio.v2 as imageio
    except ImportError as err:
        raise VideoUnavailable("writing videos needs imageio: pip install imageio imageio-ffmpeg") from err
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{suffix}")
    images = [np.ascontiguousarray(f, dtype=np.uint8) for f in frames]
    try:
        if suffix == ".mp4":
            # 84 is not a multiple of ffmpeg's default 16-pixel macro block; 4 divides every size we render.
            writer = imageio.get_writer(tmp, fps=fps, codec="libx264", macro_block_size=4, format="FFMPEG")
        else:
            writer = imageio.get_writer(tmp, mode="I", duration=1000.0 / fps, format="GIF")
        with writer:
            for image in images:
                writer.append_data(image)
    except (ImportError, RuntimeError, OSError, ValueError) as err:
        tmp.unlink(missing_ok=True)
        raise VideoUnavailable(f"cannot write {path.name}: {err} (for mp4 install imageio-ffmpeg, or use .gif)") from err
    os.replace(tmp, path)
    return path
