"""Where the layers of a population came from (paper Appendix A), the best architecture and its
difference to the runner-up, and the ancestry of the best member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbtnas.engine.population import origin_shares as _engine_origin_shares
from pbtnas.report.load import RunData

__all__ = ["AncestorStep", "GeneRow", "architecture_rows", "ancestry", "origin_shares", "origin_table"]


def origin_shares(members: list[dict[str, Any]]) -> dict[int, float]:
    """The engine's ``origin_shares`` of members read from a population file: one formula for lineage.json and the
    report, so the two cannot drift apart."""
    return _engine_origin_shares(m["lineage"] for m in members)


def origin_table(run: RunData) -> tuple[list[int], list[int], list[list[float]]]:
    """(epochs, origins, shares[origin][epoch]) over every snapshot of the run, ready for ``stackplot``."""
    epochs = [int(s["epoch"]) for s in run.snapshots]
    per_epoch = [origin_shares(s["members"]) for s in run.snapshots]
    origins = sorted({o for shares in per_epoch for o in shares})
    return epochs, origins, [[shares.get(o, 0.0) for shares in per_epoch] for o in origins]


@dataclass(frozen=True)
class GeneRow:
    gene: str
    best: str
    second: str | None
    origin: int  # initial member the best's layer came from
    path: tuple[int, ...]  # uids the layer passed through

    @property
    def differs(self) -> bool:
        return self.second is not None and self.second != self.best


def architecture_rows(run: RunData) -> list[GeneRow]:
    """The best final member's genes and options, beside the second best's."""
    members = run.final_members()
    if not members:
        return []
    best = members[0]
    second = next((m for m in members[1:] if m.get("status", "ok") == "ok"), None)

    def choice(m: dict[str, Any], i: int, name: str) -> str:
        return str(m.get("choices", {}).get(name, m["genome"][i]))

    return [
        GeneRow(
            gene=name,
            best=choice(best, i, name),
            second=choice(second, i, name) if second is not None else None,
            origin=int(best["lineage"][i][0]),
            path=tuple(int(u) for u in best["lineage"][i]),
        )
        for i, name in enumerate(run.gene_names)
    ]


@dataclass(frozen=True)
class AncestorStep:
    uid: int
    epoch: int  # the epoch the member was made
    kind: str  # init, pbtnas (mixing), mutation, restart
    base: int | None
    donor: int | None
    genes: tuple[str, ...]  # genes taken from the donor, or the mutated gene
    detail: str


def ancestry(run: RunData, uid: int | None = None) -> list[AncestorStep]:
    """The chain of members the best final member (or ``uid``) descends from through its *base* parents, newest
    first, with the donor and the genes inherited at every mixing."""
    if uid is None:
        members = run.final_members()
        if not members:
            return []
        uid = int(members[0]["uid"])
    made = {int(ev["child_uid"]): (epoch, ev) for epoch, ev in run.events()}
    out: list[AncestorStep] = []
    seen: set[int] = set()
    current: int | None = uid
    while current is not None and current not in seen:
        seen.add(current)
        if current not in made:
            out.append(AncestorStep(current, 0, "init", None, None, (), "initial member"))
            break
        epoch, ev = made[current]
        kind = str(ev.get("kind"))
        base = ev.get("base_uid")
        donor = ev.get("donor_uid")
        if kind == "pbtnas":
            genes = tuple(run.gene_names[g] for g in ev.get("inherited", []))
            detail = (f"mixed: base {base}, donor {donor}, {len(genes)} gene(s) from the donor"
                      if donor != base else f"mixed with itself (base {base}), {len(genes)} layer(s) shrink-perturbed")
        elif kind == "mutation":
            gene = ev.get("gene")
            genes = (run.gene_names[gene],) if gene is not None else ()
            detail = f"copy of {base}, {ev.get('mutation')} mutation" + (f" of {genes[0]}" if genes else "")
            donor = None
        else:
            genes = ()
            detail = f"{kind} (replaced {ev.get('replaced_uid')})"
            base = donor = None
        out.append(AncestorStep(current, epoch, kind, base, donor, genes, detail))
        current = int(base) if base is not None else None
    return out
