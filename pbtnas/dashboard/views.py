"""What each page shows, as JSON-ready dicts computed from a ``RunData`` (the report's readers and formulas:
``pbtnas.report.lineage`` for origins, the best architecture and its ancestry, ``pbtnas.report.stats`` for the
comparison tables). Everything here is data; the pages put it on screen as text, never as markup."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from pbtnas.dashboard.reader import LogEvent, RunReader, RunState
from pbtnas.report.lineage import ancestry, architecture_rows, origin_table
from pbtnas.report.load import RunData

__all__ = ["best_of", "compare_view", "population_view", "run_row", "run_view"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
VIDEO_SUFFIXES = (".mp4", ".webm")


def number(x: Any) -> float | str | None:
    """A JSON-safe number: infinities and nan as strings (the pages print them as text)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _total_steps(config: dict[str, Any]) -> int | None:
    epochs, step = config.get("epochs"), config.get("step")
    if config.get("step_schedule") or not isinstance(epochs, int) or not isinstance(step, int) or step < 1:
        return None
    return math.ceil(epochs / step)


def run_row(name: str, run: RunData, state: RunState) -> dict[str, Any]:
    """One line of the Runs page."""
    cfg = run.config
    steps_done = sum(1 for s in run.snapshots if s.get("evaluated"))
    return {
        "run": name, "label": run.root.name if name == "." else name, "space": str(run.meta.get("space") or Path(str(cfg.get("space", "?"))).stem),
        "task": str(cfg.get("task", "?")), "algorithm": run.algorithm, "setting": run.setting, "seed": run.seed,
        "state": state.state, "state_reason": state.reason, "steps_done": steps_done,
        "steps_total": _total_steps(cfg), "epoch": run.progress.get("epoch"),
        "epochs_total": run.progress.get("total_epochs", cfg.get("epochs")),
        "best_fitness": number(run.best_ever_fitness), "final_fitness": number(run.final_fitness),
        "wall_seconds": round(run.wall_seconds(), 3), "population": cfg.get("population"),
    }


def _curves(run: RunData) -> dict[str, Any]:
    """Fitness of every slot over the steps (a slot's line goes on through replacements) and the replacements
    as points: who replaced whom at which step."""
    by_slot: dict[int, list[tuple[int, float | str | None, int]]] = {}
    for e in run.evaluations:
        fitness = number(e.fitness)  # 7 significant digits are more than a chart can show, and half the bytes
        by_slot.setdefault(e.slot, []).append((e.epoch, float(f"{fitness:.7g}") if isinstance(fitness, float) else fitness,
                                               e.uid))
    replacements = [
        {"epoch": epoch, "slot": ev.get("slot"), "child": ev.get("child_uid"), "replaced": ev.get("replaced_uid"),
         "kind": ev.get("kind"), "fitness": number(ev.get("replaced_fitness"))}
        for epoch, ev in run.events()
    ]
    return {"slots": [{"slot": s, "points": pts} for s, pts in sorted(by_slot.items())],
            "best_so_far": [[ep, number(f)] for ep, f in run.best_so_far()], "replacements": replacements}


def _origins(run: RunData) -> dict[str, Any]:
    epochs, origins, shares = origin_table(run)
    return {"epochs": epochs, "origins": origins, "shares": [[round(x, 4) for x in row] for row in shares]}


def _lineage(run: RunData) -> dict[str, Any]:
    """Every member as a node (step it was made, slot) and its edges to its base and donor parents, with the
    genes (indices into the gene names) the child took from the donor."""
    nodes: dict[int, dict[str, Any]] = {}
    for snap in run.snapshots:
        for m in snap["members"]:
            uid = int(m["uid"])
            if uid not in nodes:
                nodes[uid] = {"uid": uid, "slot": int(m["slot"]), "born": int(m.get("born_epoch") or 0)}
    for e in run.evaluations:
        if e.uid in nodes:
            nodes[e.uid]["fitness"] = number(e.fitness)
    edges = []
    for epoch, ev in run.events():
        child = ev.get("child_uid")
        if ev.get("base_uid") is not None:
            edges.append({"child": child, "parent": ev["base_uid"], "role": "base", "epoch": epoch, "genes": []})
        if ev.get("donor_uid") is not None and ev.get("donor_uid") != ev.get("base_uid"):
            # gene indices, not names: a page of 300 steps gets thousands of these (it names them from "genes")
            genes = [g for g in ev.get("inherited", []) if 0 <= g < len(run.gene_names)]
            edges.append({"child": child, "parent": ev["donor_uid"], "role": "donor", "epoch": epoch, "genes": genes})
    final = {int(m["uid"]) for m in run.snapshots[-1]["members"]}
    for uid, node in nodes.items():
        node["alive"] = uid in final
    return {"nodes": sorted(nodes.values(), key=lambda n: n["uid"]), "edges": edges}


def best_of(run: RunData) -> dict[str, Any]:
    members = run.final_members()
    best = members[0] if members else None
    return {
        "uid": best["uid"] if best else None,
        "fitness": number(run.member_fitness(int(best["uid"]))) if best else None,
        "genes": [{"gene": r.gene, "best": r.best, "second": r.second, "differs": r.differs, "origin": r.origin,
                   "path": list(r.path)} for r in architecture_rows(run)],
        "ancestry": [{"uid": a.uid, "epoch": a.epoch, "kind": a.kind, "base": a.base, "donor": a.donor,
                      "genes": list(a.genes), "detail": a.detail} for a in ancestry(run)],
    }


def _media_files(folder: Path, root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file()
                      and not p.is_symlink() and p.resolve().is_relative_to(root))
    except OSError:
        return []


def _media(root: Path, current: set[int]) -> dict[str, Any]:
    """The latest sample grid of every member (GAN: RUN/workdirs/generated/member_UUUU/epoch_EEEE.png), the videos
    of the latest evaluated step (RL: RUN/workdirs/videos/eval_stepSSSSSSSSS_member…) and the best network's
    diagram where the export wrote one (RUN/best/*.svg or .png). Grids only of the ``current`` population's
    members: a replaced member's last grid is history."""
    real = root.resolve()
    grids = []
    generated = root / "workdirs" / "generated"
    if generated.is_dir() and not generated.is_symlink():
        wanted = {f"member_{uid:04d}" for uid in current}
        for member in sorted(p for p in generated.iterdir()
                             if p.name in wanted and p.is_dir() and not p.is_symlink()):
            files = _media_files(member, real, IMAGE_SUFFIXES)
            if files:
                grids.append({"member": member.name, "file": files[-1].relative_to(root).as_posix(),
                              "step": files[-1].stem})
    videos = _media_files(root / "workdirs" / "videos", real, VIDEO_SUFFIXES + (".gif",))
    step_of = {v: (re.search(r"step(\d+)", v.name) or [None, "-1"])[1] for v in videos}
    latest = max(step_of.values(), default=None, key=int)
    diagrams = _media_files(root / "best", real, IMAGE_SUFFIXES)
    return {"grids": grids,
            "videos": [{"name": v.name, "file": v.relative_to(root).as_posix()} for v in videos if step_of[v] == latest],
            "diagrams": [d.relative_to(root).as_posix() for d in diagrams]}


def _events(run: RunData, log: list[LogEvent]) -> list[dict[str, Any]]:
    """Failures, restarts and resumes: the log's warnings and errors and its start/resume/finish lines, the
    members that failed an evaluation, the restarts of random search."""
    out: list[dict[str, Any]] = [
        {"time": e.time, "kind": e.level.lower(), "text": e.message} for e in log
        if e.level in ("WARNING", "ERROR", "CRITICAL") or e.message.startswith(("search ", "finished"))
    ]
    for e in run.evaluations:
        if e.status != "ok":
            out.append({"time": f"epoch {e.epoch}", "kind": "failure",
                        "text": f"member {e.uid} (slot {e.slot}) {e.status}"})
    for epoch, ev in run.events():
        if ev.get("kind") == "restart":
            out.append({"time": f"epoch {epoch}", "kind": "restart",
                        "text": f"member {ev.get('replaced_uid')} restarted as {ev.get('child_uid')}"})
    return out


def run_view(name: str, reader: RunReader) -> dict[str, Any]:
    """Everything the run page shows except the population table (``population_view``, one step at a time)."""
    run = reader.data()
    state = reader.state(run.complete)
    return {
        "version": reader.version, "summary": run_row(name, run, state),
        "epochs": run.epochs, "genes": run.gene_names,
        "curves": reader.derived("curves", _curves), "origins": reader.derived("origins", _origins),
        "lineage": reader.derived("lineage", _lineage), "best": reader.derived("best", best_of),
        "media": _media(reader.root, {int(m["uid"]) for m in run.snapshots[-1]["members"]}),
        "config": run.config, "meta": run.meta,
        "events": _events(run, reader.events()),
    }


def population_view(reader: RunReader, epoch: int | None) -> dict[str, Any]:
    """The population table of one step (default: the latest): every member evaluated at that epoch with the
    genome it was trained with (option names), its fitness, where it ran, its parents, and what replaced it."""
    run = reader.data()
    index = {int(s["epoch"]): i for i, s in enumerate(run.snapshots)}
    if epoch is None or epoch not in index:
        epoch = run.epochs[-1]
    i = index[epoch]
    snap = run.snapshots[i]
    trained = {int(m["uid"]): m for m in (run.snapshots[i - 1] if i > 0 else snap)["members"]}
    replaced_by = {ev.get("replaced_uid"): ev for ev in snap.get("events", []) if "child_uid" in ev}
    rows = []
    evaluated = snap.get("evaluated") or [{"uid": m["uid"], "slot": m["slot"]} for m in snap["members"]]
    for e in sorted(evaluated, key=lambda e: e["slot"]):
        uid = int(e["uid"])
        member = trained.get(uid) or next((m for m in snap["members"] if int(m["uid"]) == uid), {})
        origin = member.get("origin") or {}
        child = replaced_by.get(uid)
        rows.append({
            "slot": e["slot"], "uid": uid, "fitness": number(e.get("fitness")), "status": e.get("status", "ok"),
            "choices": member.get("choices") or {}, "genome": member.get("genome"),
            "base": origin.get("base_uid"), "donor": origin.get("donor_uid"), "made_by": origin.get("kind", "init"),
            # written by the engine's budget (pbtnas/engine/budget.py) where the space counts them
            "params": member.get("params"), "flops": member.get("flops"), "train_seconds": number(e.get("train_seconds")),
            "worker": e.get("worker"), "node": e.get("node"),
            "replaced_by": None if child is None else {
                "uid": child.get("child_uid"), "kind": child.get("kind"), "base": child.get("base_uid"),
                "donor": child.get("donor_uid"),
                "genes": [run.gene_names[g] for g in child.get("inherited", []) if 0 <= g < len(run.gene_names)]},
        })
    return {"version": reader.version, "epoch": epoch, "epochs": run.epochs, "genes": run.gene_names, "rows": rows}


def compare_view(named: list[tuple[str, RunData]]) -> dict[str, Any]:
    """Best-so-far curves and final fitness of several runs, and the tables of ``pbtnas report``: mean ± std per
    algorithm and setting, and the one-sided Wilcoxon tests of PBT-NAS against the others."""
    from pbtnas.report.build import REFERENCE, results_of
    from pbtnas.report.stats import compare, summarise

    runs = [r for _n, r in named]
    results = results_of(runs)
    algorithms = list(dict.fromkeys(r.algorithm for r in runs))
    reference = REFERENCE if REFERENCE in algorithms else (algorithms[0] if algorithms else REFERENCE)
    return {
        "runs": [{"run": n, "algorithm": r.algorithm, "setting": r.setting, "seed": r.seed,
                  "final_fitness": number(r.final_fitness), "best_ever": number(r.best_ever_fitness),
                  "complete": r.complete, "curve": [[ep, number(f)] for ep, f in r.best_so_far()]}
                 for n, r in named],
        "cells": [{"algorithm": c.algorithm, "setting": c.setting, "n": c.n, "mean": number(c.mean),
                   "std": number(c.std)} for c in summarise(results)],
        "tests": [{"first": t.first, "second": t.second, "n": t.n, "statistic": number(t.statistic),
                   "pvalue": number(t.pvalue), "adjusted": number(t.adjusted), "threshold": t.threshold,
                   "significant": t.significant} for t in compare(results, reference)],
    }
