"""How fast the dashboard answers on a big run (issue 20's target: 36 members and 300 steps render in under 1 s).

Writes a run directory of that size in the engine's file format (PBT-NAS selection: every step the worst 25% are
replaced by children of two of the best 25%, genes from the donor with probability 0.25; lineage, origins,
fitness histories and events as the driver writes them), then measures, through HTTP on 127.0.0.1:

- cold: the first /api/runs, /api/run and /api/population of a fresh server (every file parsed once; the command
  does this in the background as it starts, ``Dashboard.warm_up``);
- warm page: /api/run and /api/population of a page opened on a server that has read the run;
- unchanged: a poll of an open page with nothing new (the page's two-second refresh);
- one more step: the poll right after the driver commits a step (one new population file and progress.json
  parsed, nothing else: ``reads`` counts the files parsed);
- browser (with chromium on PATH): loading the run page until its population table, charts and lineage are drawn,
  the first time in a fresh browser and once more.

Medians of --repeat runs. Writes benchmarks/results/dashboard.json.

    .venv/bin/python benchmarks/dashboard.py [--members 36] [--steps 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from _machine import cpu_model  # benchmarks/ is sys.path[0] when this file runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's pbtnas (as benchmarks/lsp.py)

from pbtnas.dashboard.server import Dashboard, make_server  # noqa: E402

GENES = 20
OPTIONS = 3


class Writer:
    """A PBT-NAS run written step by step in the run directory's format (docs/engine.md, "The run directory")."""

    def __init__(self, root: Path, members: int, steps: int, seed: int = 0) -> None:
        self.root, self.n, self.steps, self.rng = root, members, steps, random.Random(seed)
        (root / "population").mkdir(parents=True)
        config = {"space": "spaces/bench.nas", "task": "classify", "task_options": {"data": "digits"},
                  "algorithm": "pbtnas", "population": members, "epochs": steps, "step": 1, "step_schedule": [],
                  "seed": seed}
        (root / "config.json").write_text(json.dumps(config))
        (root / "run.json").write_text(json.dumps({"format": 1, "space": "bench", "algorithm": "pbtnas"}))
        (root / "log.txt").write_text("2026-12-04 10:00:00,000 INFO search bench: 2 workers, started\n")
        self.next_uid = members
        self.members = [{"slot": s, "uid": s, "genome": [self.rng.randrange(OPTIONS) for _ in range(GENES)],
                         "lineage": [[s] for _ in range(GENES)], "fitness": [], "status": "ok", "born_epoch": 0,
                         "origin": {"kind": "init"}} for s in range(members)]
        self.epoch = 0
        self.commit([], [{"kind": "init"}])

    def choices(self, genome: list[int]) -> dict[str, str]:
        return {f"net.block{g}.op": f"option{v}" for g, v in enumerate(genome)}

    def commit(self, evaluated: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        members = [{**m, "choices": self.choices(m["genome"])} for m in self.members]
        snap = {"epoch": self.epoch, "schema_hash": "bench", "members": members, "evaluated": evaluated,
                "events": events, "wall_seconds": 1.0}
        (self.root / "population" / f"epoch_{self.epoch:04d}.json").write_text(json.dumps(snap))
        best = max((e["fitness"] for e in evaluated), default=0.0)
        (self.root / "progress.json").write_text(json.dumps(
            {"epoch": self.epoch, "total_epochs": self.steps, "complete": self.epoch == self.steps,
             "best_ever": {"fitness": best}}))

    def step(self) -> None:
        self.epoch += 1
        evaluated = []
        for m in self.members:
            fitness = min(1.0, 0.5 + 0.4 * self.rng.random() * self.epoch / self.steps + 0.01 * len(m["fitness"]))
            m["fitness"] = [*m["fitness"], [self.epoch, fitness]]
            evaluated.append({"slot": m["slot"], "uid": m["uid"], "fitness": fitness, "status": "ok", "metrics": {},
                              "train_seconds": 0.5, "worker": 1 + m["slot"] % 2, "node": "node0"})
        ranked = sorted(self.members, key=lambda m: m["fitness"][-1][1])
        k = max(1, self.n // 4)
        events = []
        for worst in ranked[:k]:
            base, donor = self.rng.sample(ranked[-k:], 2) if k > 1 else (ranked[-1], ranked[-1])
            inherited = [g for g in range(GENES) if self.rng.random() < 0.25]
            genome = [donor["genome"][g] if g in inherited else base["genome"][g] for g in range(GENES)]
            uid = self.next_uid
            self.next_uid += 1
            lineage = [[*(donor if g in inherited else base)["lineage"][g], uid] for g in range(GENES)]
            origin = {"kind": "pbtnas", "child_uid": uid, "base_uid": base["uid"], "donor_uid": donor["uid"],
                      "inherited": inherited}
            events.append({**origin, "slot": worst["slot"], "replaced_uid": worst["uid"],
                           "replaced_fitness": worst["fitness"][-1][1]})
            self.members[worst["slot"]] = {"slot": worst["slot"], "uid": uid, "genome": genome, "lineage": lineage,
                                           "fitness": [], "status": "ok", "born_epoch": self.epoch, "origin": origin}
        self.commit(evaluated, events)


def get(base: str, path: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(base + path) as response:
        body = response.read()
    return time.perf_counter() - start, body


def page_load(base: str) -> list[float] | None:
    """Seconds from opening the run page to its table, charts and lineage drawn, in headless chromium: the
    browser's first load of the page (it compiles the scripts), then a second one."""
    executable = shutil.which("chromium")
    if executable is None:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True).new_page()
        page.goto(base + "/static/style.css")  # the browser process and its first connection warmed up
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            page.goto(base + "/run?run=bench")
            page.wait_for_selector("#population-table tbody tr")
            page.wait_for_selector("#lineage-graph circle")
            page.wait_for_function("Chart.getChart(document.querySelector('#origin-chart')) !== undefined")
            seconds.append(time.perf_counter() - start)
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=36)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dashboard.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        writer = Writer(folder / "bench", args.members, args.steps + args.repeat)
        for _ in range(args.steps):
            writer.step()
        size = sum(f.stat().st_size for f in (folder / "bench" / "population").iterdir())
        print(f"wrote {args.members} members x {args.steps} steps ({size / 1e6:.1f} MB of population files) "
              f"in {time.perf_counter() - start:.1f} s")
        cold, warm, unchanged, step, reads = [], [], [], [], []
        for _ in range(args.repeat):
            dashboard = Dashboard(folder)
            server = make_server(dashboard, port=0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_address[1]}"
            t_runs, _ = get(base, "/api/runs")
            t_run, body = get(base, "/api/run?run=bench")
            t_pop, _ = get(base, "/api/population?run=bench")
            cold.append(t_runs + t_run + t_pop)
            version = json.loads(body)["version"]
            t_run, _ = get(base, "/api/run?run=bench")  # what a newly opened page costs once the files are read
            t_pop, _ = get(base, "/api/population?run=bench")
            warm.append(t_run + t_pop)
            unchanged.append(get(base, f"/api/run?run=bench&since={version}")[0])
            before = dashboard.cache.reads
            writer.step()  # the driver commits one more step
            t_run, _ = get(base, f"/api/run?run=bench&since={version}")
            t_pop, _ = get(base, "/api/population?run=bench")
            step.append(t_run + t_pop)
            reads.append(dashboard.cache.reads - before)
            browser = page_load(base) if len(cold) == args.repeat else None
            server.shutdown()
            server.server_close()
    result = {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores {platform.machine()}, {platform.system()}, python "
                   f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start",
        "members": args.members, "steps": args.steps, "population_mb": round(size / 1e6, 1),
        "cold_s": statistics.median(cold), "warm_page_s": statistics.median(warm), "unchanged_poll_s": statistics.median(unchanged),
        "after_a_step_s": statistics.median(step), "files_parsed_after_a_step": statistics.median(reads),
        "browser_run_page_first_s": browser[0] if browser else None,
        "browser_run_page_again_s": browser[1] if browser else None,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
