"""``pbtnas report RUN [RUN ...] -o report/``: per-run sections and, across runs, the results table and the tests.
Reads run directories only (``pbtnas.report.load``); never re-trains."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pbtnas.report import plots
from pbtnas.report.lineage import ancestry, architecture_rows, origin_shares
from pbtnas.report.load import RunData, load_run
from pbtnas.report.render import Doc, fmt
from pbtnas.report.stats import compare, summarise

__all__ = ["build_report", "results_of"]

REFERENCE = "PBT-NAS"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:60] or "run"


def results_of(runs: Sequence[RunData]) -> list[tuple[str, str, int, float]]:
    """(algorithm, setting, seed, final fitness) for every run."""
    return [(r.algorithm, r.setting, r.seed, r.final_fitness) for r in runs]


def _unique_names(runs: Sequence[RunData]) -> list[str]:
    names: list[str] = []
    clash = len({r.name for r in runs}) < len(runs)  # e.g. OUT/<config>/seed_0 from pbtnas experiment
    for r in runs:
        base = _slug(f"{r.root.parent.name}_{r.name}" if clash else r.name)
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def _run_section(doc: Doc, run: RunData, name: str, out_dir: Path) -> dict[str, Any]:
    doc.h(1, f"Run {run.name}")
    status = "complete" if run.complete else f"incomplete (last step: epoch {run.progress.get('epoch')})"
    cfg = run.config
    doc.p(f"{run.algorithm} · {run.setting} · seed {run.seed} · {cfg.get('epochs')} epochs, step "
          f"{cfg.get('step')} · {status} · wall time of the steps {run.wall_seconds():.1f} s. "
          f"Best of the final population **{fmt(run.final_fitness)}**, best ever {fmt(run.best_ever_fitness)}.")
    fit = plots.plot_fitness(run, out_dir / name / "fitness.png")
    doc.img(str(fit.relative_to(out_dir)), f"fitness of every member of {run.name}")
    ori = plots.plot_origins(run, out_dir / name / "origins.png")
    doc.img(str(ori.relative_to(out_dir)), f"origin of the layers of {run.name}")
    final = origin_shares(run.snapshots[-1]["members"])
    top = sorted(final.items(), key=lambda kv: -kv[1])[:5]
    doc.p("Final population's layers by initial member: "
          + ", ".join(f"member {o}: {s:.0%}" for o, s in top) + (" …" if len(final) > 5 else "") + ".")

    plots_made = [str(fit.relative_to(out_dir)), str(ori.relative_to(out_dir))]
    members = run.final_members()
    cost = plots.plot_fitness_vs_parameters(run, out_dir / name / "fitness_vs_params.png")
    if cost is not None:
        doc.img(str(cost.relative_to(out_dir)), f"fitness against parameters, final population of {run.name}")
        plots_made.append(str(cost.relative_to(out_dir)))
        doc.table(["member", "fitness", "parameters", "multiply-adds per sample"],
                  [[str(m["uid"]), fmt(run.member_fitness(m["uid"])), f"{m['params']:,}",
                    "–" if m.get("flops") is None else f"{m['flops']:,}"] for m in members if "params" in m])

    doc.h(2, "Best architecture (final population) and the difference to the second best")
    rows = architecture_rows(run)
    if rows:
        best_uid = members[0]["uid"]
        second_uid = members[1]["uid"] if len(members) > 1 else None
        diff = [r for r in rows if r.differs]
        doc.p(f"Best: member {best_uid} (fitness {fmt(run.member_fitness(best_uid))}); second: member "
              f"{second_uid} (fitness {fmt(run.member_fitness(second_uid)) if second_uid is not None else '–'}); "
              f"they differ in {len(diff)} of {len(rows)} genes (marked **bold**).")
        drawn = _diagram(run, members, diff, out_dir / name / "best_architecture.svg")
        if drawn.suffix == ".svg":
            doc.img(str(drawn.relative_to(out_dir)), f"architecture of member {best_uid}; in yellow the layers of "
                    "the genes where the second best differs")
            plots_made.append(str(drawn.relative_to(out_dir)))
        else:
            doc.p(drawn.read_text().strip())
        doc.table(
            ["gene", f"best (member {best_uid})", "second best", "layer origin", "passed through"],
            [[r.gene, f"**{r.best}**" if r.differs else r.best, f"**{r.second}**" if r.differs else (r.second or "–"),
              str(r.origin), " → ".join(str(u) for u in r.path)] for r in rows],
        )
        doc.h(2, "Lineage of the best member (through its base parents, newest first)")
        chain = ancestry(run)
        doc.table(
            ["member", "made at epoch", "how", "base", "donor", "genes taken"],
            [[str(a.uid), str(a.epoch), a.detail, "–" if a.base is None else str(a.base),
              "–" if a.donor is None else str(a.donor), ", ".join(a.genes) or "–"] for a in chain],
        )
    return {"name": run.name, "algorithm": run.algorithm, "setting": run.setting, "seed": run.seed,
            "final_fitness": run.final_fitness, "best_ever": run.best_ever_fitness, "complete": run.complete,
            "wall_seconds": run.wall_seconds(), "plots": plots_made}


def _diagram(run: RunData, members: list[dict[str, Any]], diff: list[Any], path: Path) -> Path:
    """The best member's diagram (SVG), the genes where the second best differs highlighted; where it cannot be
    drawn (no `dot`, a space class of the user's), a text file beside it says why and the report quotes it."""
    from pbtnas.errors import UserError
    from pbtnas.export.diagram import build_diagram, write_diagram

    note = path.with_suffix(".txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        from pbtnas.engine.loading import load_space_of_run

        space = load_space_of_run(run.root)
        differs = {i for i, g in enumerate(space.genes) if g.name in {r.gene for r in diff}}
        diagram = build_diagram(space, members[0]["genome"], highlight_genes=differs)
        return write_diagram(diagram, path, f"{run.name}: member {members[0]['uid']}")
    except (UserError, AttributeError, TypeError) as err:  # AttributeError/TypeError: not a compiled .nas space
        note.write_text(f"The architecture diagram was not drawn: {err}\n")
        return note


def _across(doc: Doc, runs: Sequence[RunData], out_dir: Path) -> dict[str, Any]:
    results = results_of(runs)
    cells = summarise(results)
    doc.h(1, "Across runs")
    doc.p("Final metric: the best fitness of the final population of each run (the paper's result for PBT-NAS, "
          "used without retraining); mean ± sample standard deviation over seeds. Fitness is higher-is-better "
          "(accuracy, −FID, return). Best mean per setting in **bold**.")
    settings = list(dict.fromkeys(c.setting for c in cells))
    best_mean = {s: max((c.mean for c in cells if c.setting == s), default=math.nan) for s in settings}
    doc.table(
        ["algorithm", "setting", "runs", "final fitness (mean ± std)", "best ever (mean)"],
        [[c.algorithm, c.setting, str(c.n),
          (lambda t: f"**{t}**" if c.mean == best_mean[c.setting] else t)(f"{fmt(c.mean)} ± {fmt(c.std, 2)}"),
          fmt(_mean([r.best_ever_fitness for r in runs if r.algorithm == c.algorithm and r.setting == c.setting]))]
         for c in cells],
    )
    by_setting: dict[str, list[RunData]] = defaultdict(list)
    for r in runs:
        by_setting[r.setting].append(r)
    figures = []
    for setting, group in by_setting.items():
        if len({r.algorithm for r in group}) > 1 or len(group) > 1:
            stem = _slug(setting)
            p1 = plots.plot_mean_curves(group, out_dir / "across" / f"curves_{stem}.png", setting)
            p2 = plots.plot_final_values([(r.algorithm, r.final_fitness) for r in group],
                                         out_dir / "across" / f"final_{stem}.png", setting,
                                         "final fitness (higher is better)")
            for p in (p1, p2):
                doc.img(str(p.relative_to(out_dir)), f"{setting}: {p.stem}")
                figures.append(str(p.relative_to(out_dir)))
    algorithms = list(dict.fromkeys(r.algorithm for r in runs))
    reference = REFERENCE if REFERENCE in algorithms else algorithms[0]
    tests = compare(results, reference)
    if tests:
        doc.h(2, "Statistical tests (paper Appendix C)")
        doc.p(f"One-sided Wilcoxon signed-rank tests (scipy.stats.wilcoxon, alternative='greater', exact for small "
              f"samples) of {reference} against each other algorithm, pairing runs by (setting, seed) and pooling "
              f"the settings. H0: {reference}'s final fitness is not higher. Bonferroni over "
              f"{len(tests)} test(s): significant if p < {tests[0].threshold:.4g} (α = 0.05). With n pairs all in "
              f"{reference}'s favour the smallest possible p is 1/2^n (n = 5: 0.031; n = 9: 0.00195).")
        doc.table(
            ["algorithm 1", "algorithm 2", "pairs", "settings", "W+", "p-value", "Bonferroni-adjusted p",
             "significant"],
            [[t.first, t.second, str(t.n), "; ".join(t.settings), fmt(t.statistic), fmt(t.pvalue, 4),
              fmt(t.adjusted, 4), "yes" if t.significant else "no"] for t in tests],
        )
    return {
        "cells": [{"algorithm": c.algorithm, "setting": c.setting, "n": c.n, "mean": _json(c.mean),
                   "std": _json(c.std), "values": [_json(v) for v in c.values]} for c in cells],
        "tests": [{"first": t.first, "second": t.second, "n": t.n, "statistic": _json(t.statistic),
                   "pvalue": _json(t.pvalue), "adjusted": _json(t.adjusted), "threshold": t.threshold,
                   "significant": t.significant, "settings": list(t.settings)} for t in tests],
        "figures": figures,
    }


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _json(x: float) -> float | str:
    return x if math.isfinite(x) else str(x)


def build_report(run_dirs: Sequence[Path | str], out_dir: Path | str, title: str = "pbtnas report") -> dict[str, Any]:
    """Write ``report.md``, ``report.html``, ``summary.json`` and the PNGs into ``out_dir``; return the summary."""
    out = Path(out_dir)
    runs = [load_run(d) for d in run_dirs]
    doc = Doc(title)
    doc.p(f"{len(runs)} run(s): " + ", ".join(f"`{r.name}`" for r in runs) + ".")
    summary: dict[str, Any] = {"runs": []}
    if len(runs) > 1:
        summary["across"] = _across(doc, runs, out)
    for run, name in zip(runs, _unique_names(runs), strict=True):
        summary["runs"].append(_run_section(doc, run, name, out))
    md, page = doc.write(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    summary["markdown"], summary["html"] = str(md), str(page)
    return summary
