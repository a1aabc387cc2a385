"""Parameter and FLOP budgets: every proposal the engine makes (initial member, child of mixing, mutation) is within
them; a budget that leaves nothing is a clear error; a CLI search keeps every member of every step within it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.compiler.space import compile_space
from pbtnas.engine.budget import MAX_TRIES, Budget, BudgetError
from pbtnas.engine.mixing import MixPlan, draw_inherited
from pbtnas.engine.mutation import MutationPlan, draw_mutation
from pbtnas.engine.population import stratified_genomes

ROOT = Path(__file__).resolve().parents[2]
TINY_GANHARD = {"gf_dim": "8", "df_dim": "8"}


def proposals_within(space, budget: Budget, rounds: int, seed: int = 0) -> tuple[int, int]:
    """Draw initial members, children and mutations as the driver does; (proposals over budget before the redraw,
    proposals made). Every result is asserted within the budget."""
    counts = tuple(len(g.options) for g in space.genes)
    rng = np.random.default_rng(seed)
    uniform = lambda r: tuple(int(r.integers(c)) for c in counts)  # noqa: E731
    population = [budget.draw(g, uniform, np.random.default_rng(i), None, "init")
                  for i, g in enumerate(stratified_genomes(counts, 8, rng))]
    assert all(budget.fits(g) for g in population)
    over = made = 0
    for _ in range(rounds):
        base, donor = (population[int(i)] for i in rng.choice(len(population), 2, replace=False))
        first = draw_inherited(rng, space.genes, base, donor, 0.5)
        child = budget.draw(first, lambda r: draw_inherited(r, space.genes, base, donor, 0.5), rng,
                            MixPlan(-1, -1, (), base), "child", lambda p: p.child_genome)
        first_mutation = draw_mutation(rng, counts, base)
        mutation = budget.draw(first_mutation, lambda r: draw_mutation(r, counts, base), rng,
                               MutationPlan("copy", None, base), "mutation", lambda p: p.child_genome)
        for proposal in (child, mutation):
            assert budget.fits(proposal.child_genome)
        over += (not budget.fits(first.child_genome)) + (not budget.fits(first_mutation.child_genome))
        made += 2
        population[int(rng.integers(len(population)))] = child.child_genome
    return over, made


@pytest.mark.parametrize("name, sets", [("ganhard", TINY_GANHARD), ("digits", {})])
def test_children_and_mutations_respect_a_budget_that_excludes_the_largest_options(name, sets) -> None:
    space = compile_space(ROOT / "spaces" / f"{name}.nas", sets)
    r = space.parameter_range()
    limit = r.low + (r.high - r.low) // 5
    budget = Budget(space, limit, None)
    largest = [max(range(len(g.options)), key=lambda v: space.parameters(
        [v if j == g.index else 0 for j in range(len(space.genes))]).total) for g in space.genes]
    assert not budget.fits(tuple(largest))  # the budget does exclude the largest options
    over, made = proposals_within(space, budget, 60)
    assert over > 0  # proposals over the budget were drawn and redrawn, not just never made


def test_a_flop_budget_is_respected() -> None:
    space = compile_space(ROOT / "spaces" / "digits.nas")
    from pbtnas.compiler.flops import genome_flops

    budget = Budget(space, None, 150_000)
    over, made = proposals_within(space, budget, 100, seed=1)
    assert over > 0
    assert budget.flops((0, 0, 0, 0, 0, 0, 0)) == genome_flops(space, [0] * 7).total


def test_a_budget_below_the_smallest_network_or_excluding_almost_everything_is_an_error() -> None:
    space = compile_space(ROOT / "spaces" / "ganhard.nas", TINY_GANHARD)
    low = space.parameter_range().low
    with pytest.raises(BudgetError, match=f"below the smallest network .*{low:,} parameters"):
        Budget(space, low - 1, None)
    budget = Budget(space, low, None)
    counts = tuple(len(g.options) for g in space.genes)
    with pytest.raises(BudgetError, match=f"excludes almost the whole space.*0 of {MAX_TRIES + 1}"):
        budget.draw(tuple(c - 1 for c in counts), lambda r: tuple(int(r.integers(c)) for c in counts),
                    np.random.default_rng(0), None, "the initial population")


@pytest.mark.slow
def test_a_cli_search_keeps_every_member_within_the_budget(ray_session: str, tmp_path: Path) -> None:
    from pbtnas.engine.commands import release_kept_workers

    release_kept_workers()  # the subprocess's actors need the session's CPUs
    run = tmp_path / "run"
    limit = 5000  # excludes conv5 (6,448 parameters alone) and most stage pairs
    cmd = [sys.executable, "-m", "pbtnas.cli", "search", str(ROOT / "spaces" / "digits.nas"), "--population", "4",
           "--epochs", "4", "--step", "2", "--seed", "2", "--max-params", str(limit), "--out", str(run),
           "--address", ray_session, "--no-progress", "--workers", "2", "--task-option", "train_limit=200"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    space = compile_space(ROOT / "spaces" / "digits.nas")
    files = sorted((run / "population").glob("epoch_*.json"))
    assert len(files) == 3
    for f in files:
        for m in json.loads(f.read_text())["members"]:
            assert m["params"] == space.parameters(m["genome"]).total <= limit, (f.name, m["genome"])
            assert m["flops"] > 0
    assert json.loads((run / "config.json").read_text())["max_params"] == limit
    # the budget is part of the run: a resume keeps it and cannot change it
    changed = CliRunner().invoke(app, ["search", "--resume", str(run), "--max-params", "9000"])
    assert changed.exit_code == 2 and "max_params" in changed.output
    # the report plots fitness against parameters and embeds the best architecture with the diff to the second
    report = CliRunner().invoke(app, ["report", str(run), "-o", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "fitness_vs_params.png" in markdown and "multiply-adds per sample" in markdown
    if shutil.which("dot"):
        svg = (tmp_path / "report" / run.name / "best_architecture.svg").read_text()
        assert "best_architecture.svg" in markdown and svg.count('class="node"') > 5
    # and the searched network exports through the CLI: ONNX checked against PyTorch, a plain-torch program
    exported = CliRunner().invoke(app, ["export", str(run), "-o", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    assert "classifier.onnx: onnxruntime matches PyTorch" in exported.output
    assert (tmp_path / "export" / "classifier.pt2").is_file()
