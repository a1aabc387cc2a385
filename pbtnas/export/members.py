"""A genome of a run directory for `pbtnas show RUN`: the best network's, or a member's with the genes its donor
gave (from the population files: a child's `origin.inherited`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbtnas.errors import EXIT_USER, UserError


class MemberError(UserError):
    exit_code = EXIT_USER


@dataclass(frozen=True)
class RunGenome:
    space: Any
    genome: Any
    donor_genes: tuple[int, ...]  # genes inherited from the donor (empty for an initial member or the best network)
    title: str


def run_genome(run_dir: Path, uid: int | None = None) -> RunGenome:
    from pbtnas.engine.loading import _read_json, load_space_of_run
    from pbtnas.report.load import load_run

    space = load_space_of_run(run_dir)
    if uid is None:
        path = run_dir / "best" / "genome.json"
        if not path.is_file():
            raise MemberError(f"{run_dir} has no best/genome.json (has the run finished?); name a member with "
                              "--member UID")
        return RunGenome(space, space.genome_from_json(_read_json(path)), (), f"{run_dir.name}: best")
    run = load_run(run_dir)
    stored = run.member(uid)
    if stored is None:
        known = sorted({m["uid"] for s in run.snapshots for m in s["members"]})
        raise MemberError(f"{run_dir} has no member {uid}; its members are {known[0]}..{known[-1]}")
    origin = stored.get("origin") or {}
    donor = tuple(origin.get("inherited", ())) if origin.get("kind") == "pbtnas" else ()
    title = f"{run_dir.name}: member {uid}" + (f" (base {origin['base_uid']}, donor {origin['donor_uid']}: donor's "
                                               "genes coloured)" if donor else "")
    return RunGenome(space, space.validate(stored["genome"]), donor, title)
