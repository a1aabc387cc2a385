"""Architecture diagrams: the graph of a GanHard genome checked against the genome (its active layers, its
options, its shapes), the Graphviz source and a rendered file, and `pbtnas show RUN --member` colouring the donor's
genes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.compiler.selected import selected_modules
from pbtnas.compiler.space import compile_space
from pbtnas.export.diagram import DONOR_COLOUR, INSTALL_HINT, build_diagram, write_diagram

ROOT = Path(__file__).resolve().parents[2]
TINY = {"gf_dim": "8", "df_dim": "8"}
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def ganhard():
    return compile_space(ROOT / "spaces" / "ganhard.nas", TINY)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_graph_of_a_ganhard_genome_follows_the_genome(ganhard, seed: int) -> None:
    genome = ganhard.random_genome(np.random.default_rng(seed))
    diagram = build_diagram(ganhard, genome)
    layers = {n for n, d in diagram.nodes.items() if d["shape"] == "box"}
    # one node per layer the data flow reaches: exactly the active layers the compiler's activity model names
    active = {p for p in ganhard.activity(genome).paths}
    assert layers == active
    selected = {m.path: m for m in selected_modules(ganhard.artifact, genome.values)}
    for path in layers:
        m = selected[path]
        if m.gene is not None:  # a slot's layer sits in the slot's cluster, labelled with the chosen option
            slot = ganhard.genes[m.gene]
            assert diagram.nodes[path]["cluster"] == slot.name
            assert diagram.cluster_labels[slot.name].endswith(f"= {slot.options[genome.values[m.gene]]}")
    into = {b: (a, label) for a, b, label in diagram.edges if b in layers}
    for path in layers:  # the shape on the edge into a layer is its input shape, where the compiler fixes it
        want = selected[path].in_shape
        if None not in want:
            assert into[path][1] == "[" + ", ".join(map(str, want)) + "]", path
    combines = [n for n, d in diagram.nodes.items() if d["shape"] == "circle"]
    inputs = [n for n in diagram.nodes if "/in/" in n]
    outputs = [n for n in diagram.nodes if "/out/" in n]
    assert len(inputs) == 2 and len(outputs) == 2  # z and the image; the generator's and discriminator's outputs
    fan_in = {n: sum(1 for _, b, _ in diagram.edges if b == n) for n in diagram.nodes}
    assert all(fan_in[n] == 1 for n in layers | set(outputs)) and all(fan_in[n] >= 2 for n in combines)
    assert len(diagram.edges) == len(layers) + sum(fan_in[n] for n in combines) + len(outputs)
    source = diagram.source("t").source  # the DOT text has every node and edge
    assert source.count(" -> ") == len(diagram.edges)
    assert len(set(re.findall(r'^\s*"?([^\s"]+)"? \[label', source, re.M))) == len(diagram.nodes)


def test_donor_genes_are_coloured(ganhard) -> None:
    genome = ganhard.random_genome(np.random.default_rng(4))
    slot = next(g for g in ganhard.genes if g.kind == "slot" and g.index in ganhard.activity(genome).genes
                and any(d["gene"] == g.name for d in build_diagram(ganhard, genome).nodes.values()))
    diagram = build_diagram(ganhard, genome, donor_genes={slot.index})
    coloured = {d["gene"] for d in diagram.nodes.values() if d["colour"] == DONOR_COLOUR}
    assert coloured == {slot.name}


@pytest.mark.skipif(not HAS_DOT, reason=INSTALL_HINT)
def test_svg_png_and_dot_files(ganhard, tmp_path: Path) -> None:
    diagram = build_diagram(ganhard, ganhard.random_genome(np.random.default_rng(0)))
    svg = write_diagram(diagram, tmp_path / "a.svg").read_text()
    assert svg.count('class="node"') == len(diagram.nodes) and svg.count('class="edge"') == len(diagram.edges)
    assert write_diagram(diagram, tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert "digraph" in write_diagram(diagram, tmp_path / "a.dot").read_text()


def test_show_draws_a_run_member_with_its_donor(tmp_path: Path) -> None:
    from export_runs import make_run

    run = make_run(tmp_path / "run", "digits.nas", seed=5)
    space = compile_space(ROOT / "spaces" / "digits.nas")
    genome = json.loads((run / "best" / "genome.json").read_text())["values"]
    (run / "population").mkdir()
    member = {"slot": 0, "uid": 7, "genome": genome, "lineage": [[0, 7]] * 7, "fitness": [[2, 0.5]],
              "status": "ok", "born_epoch": 2, "origin": {"kind": "pbtnas", "base_uid": 1, "donor_uid": 3,
                                                         "inherited": [6]}}
    (run / "population" / "epoch_0002.json").write_text(json.dumps(
        {"epoch": 2, "schema_hash": space.schema_hash, "members": [member], "evaluated": [], "events": []}))
    (run / "progress.json").write_text(json.dumps({"epoch": 2}))
    (run / "config.json").write_text(json.dumps({"seed": 0}))
    shown = CliRunner().invoke(app, ["show", str(run), "--member", "7", "--graph", str(tmp_path / "m.dot")])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("(donor)") == 1 and "multiply-adds" in shown.output
    dot = (tmp_path / "m.dot").read_text()
    assert DONOR_COLOUR in dot and "donor 3" in dot
    missing = CliRunner().invoke(app, ["show", str(run), "--member", "99"])
    assert missing.exit_code == 2 and "no member 99" in missing.output
