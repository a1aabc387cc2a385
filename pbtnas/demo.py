"""`make demo`: a real PBT-NAS search of the GanHard space on the digits scikit-learn ships, on a laptop CPU.

The GAN task's `tiny` preset (with n_critic 2) at reduced widths (16 channels, 16x16 grey images), a population of
8 trained in parallel on Ray, selection and mixing every 2 epochs. It ends by printing where the best network, its
genome, its sample grid and its digits-FID are, and the best digits-FID of the initial population for comparison.
Everything it prints is computed by the same code as `pbtnas search`, `pbtnas sample` and `pbtnas evaluate`.

    python -m pbtnas.demo [--population 8] [--epochs 6] [--out runs/demo-...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from pbtnas.compiler import compile_space
from pbtnas.engine.commands import UserError, search
from pbtnas.tasks.commands import sample_run

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "spaces" / "ganhard.nas"
# One channel: the digits are grey, and a 3-channel generator spends its ~70 steps on colours the data never has
# (colourful smudges; the grids and digits-FID of both are in docs/demo.md).
WIDTHS = {"gf_dim": "16", "df_dim": "16", "bottom_width": "2", "img_channels": "1"}
# Two discriminator steps per generator step instead of the paper's five: with five, a member gets 12 generator
# steps per digits epoch, about 70 in the demo, and draws blurred shapes; with two it gets 29 per epoch and
# draws digits a person can read, for more training time per epoch (figures in docs/demo.md).
TASK_OPTIONS = {"preset": "tiny", "n_critic": 2}


def initial_best(run_dir: Path) -> tuple[float, int] | None:
    """The best fitness of the initial population at its first evaluation, before any selection."""
    files = sorted((run_dir / "population").glob("epoch_*.json"))
    for path in files:
        members = json.loads(path.read_text())["members"]
        scores = [(m["fitness"][0][1], m["uid"]) for m in members
                  if m["fitness"] and m["origin"].get("kind") == "init"]
        if scores:
            return max(scores)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--step", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    console = Console()
    space = compile_space(SPACE, WIDTHS)
    console.print(f"[bold]GanHard[/] ({len(space.genes)} genes, {space.size_text()} architectures) on "
                  f"scikit-learn's digits at 16x16 (grey), widths {WIDTHS['gf_dim']}; population {args.population}, "
                  f"{args.epochs} epochs, selection every {args.step}")
    out = args.out or Path("runs") / f"demo-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    values = {"space": str(SPACE), "task": "gan", "task_options": TASK_OPTIONS, "overrides": WIDTHS,
              "population": args.population, "epochs": args.epochs, "step": args.step, "seed": args.seed,
              "out": str(out)}
    t0 = time.perf_counter()
    try:
        summary, run_dir = search(values, None, None)
    except UserError as err:
        console.print(f"[red]error:[/] {err}")
        return 1
    grid = sample_run(run_dir, run_dir / "samples.png", grid="8x8", seed=0)
    first = initial_best(run_dir)
    console.rule("result")
    console.print(f"search finished in {time.perf_counter() - t0:.0f} s on {summary.workers} Ray workers")
    console.print(f"best network:     {run_dir / 'best' / 'model.pt'}   (load: pbtnas.load('{run_dir}'))")
    console.print(f"its genome:       {run_dir / 'best' / 'genome.json'}")
    console.print(f"its samples:      {grid}")
    console.print(f"its digits-FID:   {-summary.best_fitness:.1f}   (fitness = -digits-FID on the tiny preset's "
                  f"images; digits-FID uses a small digits classifier, not Inception)")
    if first is not None:
        verdict = "better" if summary.best_fitness > first[0] else "not better"
        console.print(f"initial population's best digits-FID after its first step: {-first[0]:.1f} "
                      f"(member {first[1]}): the final best is {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
