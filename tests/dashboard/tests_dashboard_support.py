"""Helpers of the browser tests."""

from __future__ import annotations

import io
from urllib.parse import urlencode

HOSTILE_RUN = urlencode({"run": '<img src=x onerror="window.__pwned=1">'})


def not_blank(png: bytes) -> bool:
    """A screenshot that shows something: many colours and contrast, not one flat colour."""
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    return float(pixels.std()) > 0.05 and len(colours) > 50
