"""Helpers of the dashboard's tests (a module of its own: `import conftest` would find whichever conftest.py of
the suite was imported first)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

from pbtnas.dashboard.server import Dashboard, make_server

HOSTILE_RUN = urlencode({"run": '<img src=x onerror="window.__pwned=1">'})


def not_blank(png: bytes) -> bool:
    """A screenshot that shows something: many colours and contrast, not one flat colour."""
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    return float(pixels.std()) > 0.05 and len(colours) > 50


def serve(folder: Path) -> Iterator[str]:
    server = make_server(Dashboard(folder), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
