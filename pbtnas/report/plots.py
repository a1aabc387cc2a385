"""matplotlib figures of a report (Agg backend: no display needed). Every figure has a title, labelled axes and a
legend, at font sizes readable in a Markdown page."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pbtnas.report.lineage import origin_table  # noqa: E402
from pbtnas.report.load import RunData  # noqa: E402

__all__ = ["plot_distribution", "plot_fitness", "plot_fitness_vs_parameters", "plot_final_values", "plot_mean_curves",
           "plot_origins"]

STYLE = {
    "font.size": 12,
    "axes.titlesize": 14,
    "axes.labelsize": 12,
    "legend.fontsize": 10,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _fitness_name(run: RunData) -> str:
    task = run.config.get("task", "classify")
    return {"classify": "validation accuracy", "gan": "−FID", "rl": "mean return"}.get(task, "fitness")


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_fitness(run: RunData, path: Path) -> Path:
    """Every member's fitness after each step (one line per member uid; a child's line starts where it was born,
    from its parent's point), with the best-so-far line."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 5))
        series: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for e in run.evaluations:
            if math.isfinite(e.fitness):
                series[e.uid].append((e.epoch, e.fitness))
        parents = {int(ev["child_uid"]): (ep, ev.get("base_uid")) for ep, ev in run.events()}
        cmap = plt.get_cmap("tab20")
        for i, (uid, points) in enumerate(sorted(series.items())):
            if uid in parents and parents[uid][1] in series:  # connect a child to its base parent at birth
                born, base = parents[uid]
                at = [f for ep, f in series[base] if ep == born]
                if at:
                    points = [(born, at[0]), *points]
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, "-o", color=cmap(i % 20), lw=1.2, ms=3, alpha=0.7,
                    label="members (one line per member)" if i == 0 else None)
        failed = [(e.epoch, e.uid) for e in run.evaluations if not math.isfinite(e.fitness)]
        best = run.best_so_far()
        if best:
            xs, ys = zip(*best, strict=True)
            ax.step(xs, ys, where="post", color="black", lw=2.5, label="best so far")
        if failed:
            ax.plot([], [], "x", color="red", label=f"failed members: {len(failed)}")
        ax.set_title(f"{run.name}: fitness of every member\n{run.algorithm} · {run.setting} · seed {run.seed}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"fitness ({_fitness_name(run)}, higher is better)")
        ax.legend(loc="lower right")
        return _save(fig, path)


def plot_origins(run: RunData, path: Path) -> Path:
    """Paper Appendix A: share of (member, gene) pairs whose layer came from each initial member, over time."""
    epochs, origins, shares = origin_table(run)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 5))
        cmap = plt.get_cmap("tab20")
        colors = [cmap(i % 20) for i in range(len(origins))]
        ax.stackplot(epochs, np.array(shares), labels=[f"initial member {o}" for o in origins], colors=colors,
                     alpha=0.9)
        ax.set_xlim(min(epochs), max(epochs) if max(epochs) > min(epochs) else min(epochs) + 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{run.name}: origin of the population's layers\n{run.algorithm} · {run.setting}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("share of (member, gene) pairs")
        ncol = 1 if len(origins) <= 12 else 2
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), ncol=ncol, title="layer origin")
        return _save(fig, path)


def plot_fitness_vs_parameters(run: RunData, path: Path) -> Path | None:
    """The final population: fitness against parameters (log scale), the best member marked; None when the run's
    population files carry no parameter counts (a run of an older pbtnas, or a space that does not count)."""
    points = [(m["params"], run.member_fitness(m["uid"]), m["uid"]) for m in run.final_members()
              if m.get("params") is not None and math.isfinite(run.member_fitness(m["uid"]))]
    if not points:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 5))
        xs, ys, _ = zip(*points, strict=True)
        ax.scatter(xs, ys, s=40, alpha=0.8, label="final population")
        best = max(points, key=lambda p: p[1])
        ax.scatter([best[0]], [best[1]], s=160, marker="*", color="black", label=f"best (member {best[2]})")
        ax.set_xscale("log")
        ax.set_title(f"{run.name}: fitness against parameters\n{run.algorithm} · {run.setting}")
        ax.set_xlabel("parameters (exact, log scale)")
        ax.set_ylabel(f"fitness ({_fitness_name(run)}, higher is better)")
        ax.legend(loc="lower right")
        return _save(fig, path)


def plot_mean_curves(runs: Sequence[RunData], path: Path, setting: str) -> Path:
    """Best-so-far fitness per algorithm, mean ± std over seeds (paper Figure 3 style)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 5))
        by_alg: dict[str, list[RunData]] = defaultdict(list)
        for r in runs:
            by_alg[r.algorithm].append(r)
        for i, (alg, group) in enumerate(sorted(by_alg.items())):
            curves = [dict(r.best_so_far()) for r in group]
            epochs = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
            if not epochs:
                continue
            values = np.array([[c[e] for e in epochs] for c in curves])
            mean, std = values.mean(axis=0), values.std(axis=0, ddof=1) if len(curves) > 1 else 0 * values[0]
            color = plt.get_cmap("tab10")(i % 10)
            ax.plot(epochs, mean, "-o", ms=3, color=color, lw=2, label=f"{alg} (n={len(curves)})")
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2)
        ax.set_title(f"Best fitness so far, mean ± std over seeds\n{setting}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"best fitness so far ({_fitness_name(runs[0])})")
        ax.legend(loc="lower right")
        return _save(fig, path)


def plot_final_values(rows: Sequence[tuple[str, float]], path: Path, setting: str, metric: str) -> Path:
    """Final fitness of every run, one column per algorithm, with the mean as a bar."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len({a for a, _ in rows}) + 2), 5))
        algs = list(dict.fromkeys(a for a, _ in rows))
        for i, alg in enumerate(algs):
            vals = [v for a, v in rows if a == alg and math.isfinite(v)]
            color = plt.get_cmap("tab10")(i % 10)
            ax.bar(i, float(np.mean(vals)) if vals else 0.0, color=color, alpha=0.35, width=0.6,
                   label="mean" if i == 0 else None)
            jitter = np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else [0.0]
            ax.plot(i + np.asarray(jitter), vals, "o", color=color, ms=7,
                    label="one run (seed)" if i == 0 else None)
        ax.set_xticks(range(len(algs)), [a.replace(", shrink", ",\nshrink").replace(" + ", " +\n") for a in algs],
                      rotation=0)
        finite = [v for _, v in rows if math.isfinite(v)]
        if finite:
            lo, hi = min(finite), max(finite)
            pad = (hi - lo) * 0.3 or abs(hi) * 0.05 or 0.05
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"Final fitness per algorithm\n{setting}")
        ax.set_xlabel("algorithm")
        ax.set_ylabel(metric)
        ax.legend(loc="best")
        return _save(fig, path)


def plot_distribution(groups: dict[str, Sequence[float]], marks: dict[str, float], path: Path, title: str,
                      metric: str) -> Path:
    """Histograms of a metric over sampled architectures (one per group, stacked) and a vertical line per mark
    (each algorithm's mean result): where the searched networks stand among random ones."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        values = [v for vs in groups.values() for v in vs if math.isfinite(v)]
        bins = np.linspace(min(values + list(marks.values())), max(values + list(marks.values())), 25) if values else 10
        ax.hist([[v for v in vs if math.isfinite(v)] for vs in groups.values()], bins=bins, stacked=True,
                label=[f"{name} (n = {len(vs)})" for name, vs in groups.items()], alpha=0.8)
        for i, (name, x) in enumerate(marks.items()):
            ax.axvline(x, color=f"C{(i + len(groups)) % 10}", linestyle="--", linewidth=1.5, label=f"{name}: {x:.3f}")
        ax.set_xlabel(metric)
        ax.set_ylabel("architectures")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)
