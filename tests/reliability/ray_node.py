"""``ray start ARGS...`` (Ray's own command, run in this process) with Ray's loopback rewrite switched off.

Ray rewrites ``--node-ip-address 127.0.0.1`` and ``--address 127.0.0.1:PORT`` to the machine's routable address
(``services.resolve_ip_for_localhost``), so on Linux it cannot build a multi-node cluster that stays on loopback.
The two-node test wants exactly that (nothing it starts reachable from other machines), so it starts each node
through this wrapper. Every process the node starts gets its address on its command line.
"""

from __future__ import annotations

import sys

from ray._private import services


def _keep(host: str) -> str:
    return host


def main() -> None:
    services.resolve_ip_for_localhost = _keep
    from ray.scripts.scripts import main as ray_main

    sys.argv = ["ray", "start", *sys.argv[1:]]
    ray_main()


if __name__ == "__main__":
    main()
