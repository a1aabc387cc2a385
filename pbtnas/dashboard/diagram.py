"""The best member's architecture diagram (pbtnas.export.diagram), drawn in memory as SVG: the dashboard writes
nothing into a run directory. The genes its latest mixing took from the donor are coloured as inherited, the genes
where the second best differs highlighted, as in `pbtnas report`. Imports torch (the network is built on the meta
device to trace it), so only when a page asks for a diagram."""

from __future__ import annotations

from typing import Any

from pbtnas.errors import UserError
from pbtnas.report.load import RunData

__all__ = ["DiagramUnavailable", "best_diagram"]


class DiagramUnavailable(Exception):
    """Why no diagram can be drawn (no `dot`, a space class of the user's, a run of another pbtnas)."""


def best_diagram(run: RunData, member: dict[str, Any], differs: set[str]) -> bytes:
    """The SVG of ``member``'s networks; ``differs``: names of the genes where the second best differs."""
    try:
        import graphviz

        from pbtnas.engine.loading import load_space_of_run
        from pbtnas.export.diagram import INSTALL_HINT, build_diagram
    except ImportError as err:
        raise DiagramUnavailable(f"this installation cannot draw diagrams ({err})") from None
    try:
        space = load_space_of_run(run.root)  # imports no plugin module the run names (plugins=None)
        origin = member.get("origin") or {}
        donor = {int(g) for g in origin.get("inherited", [])} if origin.get("kind") == "pbtnas" else set()
        diagram = build_diagram(space, member["genome"], donor_genes=donor,
                                highlight_genes={g.index for g in space.genes if g.name in differs})
        return diagram.source(f"{run.name}: member {member['uid']}").pipe(format="svg")
    except graphviz.ExecutableNotFound:
        raise DiagramUnavailable(INSTALL_HINT) from None
    except graphviz.CalledProcessError as err:
        raise DiagramUnavailable(f"dot failed: {err}") from None
    except (UserError, AttributeError, TypeError, ValueError) as err:  # AttributeError/TypeError: not a .nas space
        raise DiagramUnavailable(str(err)) from None
