"""Semantics of compiled spaces: genome JSON, the artifact, builder determinism, weight ownership, the schema hash,
exact sizes, and the compiler's CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pbtnas.cli import app
from pbtnas.compiler import CompiledSpace, DiagnosticError, Genome, GenomeError, compile_space, compile_text

SPACES = Path(__file__).resolve().parents[2] / "spaces"
DIGITS = SPACES / "digits.nas"


@pytest.fixture(scope="module")
def digits() -> CompiledSpace:
    return compile_space(DIGITS)


@pytest.fixture(scope="module")
def ganhard_small() -> CompiledSpace:
    return compile_space(SPACES / "ganhard.nas", {"gf_dim": "8", "df_dim": "8", "latent_dim": "12"})


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---- genome JSON -----------------------------------------------------------------------------------------------------

def test_genome_json_round_trip_with_names(digits):
    rng = np.random.default_rng(1)
    for _ in range(20):
        genome = digits.random_genome(rng)
        data = json.loads(json.dumps(digits.to_json_genome(genome)))
        assert data["space"] == "digits" and data["schema_hash"] == digits.schema_hash
        assert data["values"] == list(genome.values)
        assert list(data["choices"]) == [g.name for g in digits.genes]  # genome order, names beside ints
        for g, v in zip(digits.genes, genome.values):
            assert data["choices"][g.name] == g.options[v]
        assert digits.genome_from_json(data) == genome


def test_genome_json_refusals(digits):
    good = digits.to_json_genome(digits.random_genome(np.random.default_rng(0)))
    foreign = dict(good, schema_hash="0123456789abcdef")
    with pytest.raises(GenomeError, match="schema"):
        digits.genome_from_json(foreign)
    with pytest.raises(GenomeError, match="7 genes"):
        digits.genome_from_json(dict(good, values=good["values"][:-1], choices=None))
    out_of_range = list(good["values"])
    out_of_range[0] = len(digits.genes[0].options)
    with pytest.raises(GenomeError, match="options"):
        digits.genome_from_json(dict(good, values=out_of_range, choices=None))
    with pytest.raises(GenomeError):
        digits.genome_from_json(dict(good, values=[-1] + good["values"][1:], choices=None))
    lying = json.loads(json.dumps(good))
    name = digits.genes[0].name
    lying["choices"][name] = next(o for o in digits.genes[0].options if o != lying["choices"][name])
    with pytest.raises(GenomeError, match=name):
        digits.genome_from_json(lying)
    with pytest.raises(GenomeError):
        digits.genome_from_json({"no": "values"})
    with pytest.raises(GenomeError):
        digits.validate(["a", "b"])
    with pytest.raises(GenomeError, match="schema"):
        digits.validate(Genome(good["values"], "ffffffffffffffff"))


# ---- artifact and builder ------------------------------------------------------------------------------------------

def test_artifact_round_trip_builds_identical_state(digits):
    again = CompiledSpace.from_json(digits.to_json())
    assert again.schema_hash == digits.schema_hash and again.genes == digits.genes and again.size == digits.size
    rng = np.random.default_rng(2)
    for _ in range(3):
        genome = digits.random_genome(rng)
        assert states_equal(digits.build(genome, seed=5).state_dict(), again.build(genome, seed=5).state_dict())


def test_builder_is_deterministic_per_seed(digits):
    genome = digits.validate([1, 0, 0, 2, 1, 1, 1])  # conv stages: weights to compare
    a, b, c = (digits.build(genome, seed=s).state_dict() for s in (7, 7, 8))
    assert states_equal(a, b)
    weights = [k for k in a if k.endswith("weight") and a[k].dim() >= 2]  # conv and linear, not batchnorm
    assert weights and all(not torch.equal(a[k], c[k]) for k in weights)
    x = torch.randn(2, 1, 8, 8)
    model = digits.build(genome, seed=7).eval()
    assert model.classifier(x).shape == (2, 10)


# ---- weight ownership ------------------------------------------------------------------------------------------------

def _closure(space: CompiledSpace, i: int) -> list[int]:
    """Gene i and every gene linked to it, transitively (as the engine's mixing copies them)."""
    group, frontier = {i}, [i]
    while frontier:
        for j in space.genes[frontier.pop()].linked:
            if j not in group:
                group.add(j)
                frontier.append(j)
    return sorted(group)


def _check_ownership(space: CompiledSpace, rng: np.random.Generator, genes: list[int]) -> int:
    """Mix gene i (with its linked genes) from B into A; the child differs from A exactly in the keys gene i owns."""
    a_genome, b_genome = space.random_genome(rng), space.random_genome(rng)
    a_state = space.build(a_genome, seed=1).state_dict()
    b_state = space.build(b_genome, seed=2).state_dict()
    checked = 0
    for i in genes:
        group = _closure(space, i)
        values = list(a_genome.values)
        for j in group:
            values[j] = b_genome[j]
        child = space.build(values, seed=3)
        child_keys = child.state_dict().keys()
        owned_child = {k for j in group for k in space.owned_keys(j, child_keys)}
        owned_a = {k for j in group for k in space.owned_keys(j, a_state)}
        owned_b = {k for j in group for k in space.owned_keys(j, b_state)}
        assert owned_b == owned_child, space.genes[i].name  # the same option owns the same keys in every network
        merged = {k: v for k, v in a_state.items() if k not in owned_a}
        merged.update({k: b_state[k] for k in owned_b})
        child.load_state_dict(merged, strict=True)  # every other key exists in the child with A's shape
        got = child.state_dict()
        differs = {k for k in got if k not in a_state or not torch.equal(got[k], a_state[k])}
        assert differs <= owned_child, (space.genes[i].name, sorted(differs - owned_child)[:5])
        assert all(torch.equal(got[k], b_state[k]) for k in owned_child)
        if not space.genes[i].owns_weights:
            assert not owned_child and not differs
        checked += 1
    return checked


def test_weight_ownership_digits(digits):
    rng = np.random.default_rng(3)
    for _ in range(4):
        _check_ownership(digits, rng, list(range(len(digits.genes))))


def test_weight_ownership_mlp_links_width_genes():
    space = compile_space(SPACES / "mlp.nas")
    width1, width2 = space.gene("classifier.width1"), space.gene("classifier.width2")
    assert width1.owns_weights and width2.index in width1.linked
    # the norm slot's layernorm is sized by width2: width1 -> width2 -> norm travel together
    assert _closure(space, width1.index) == [width1.index, width2.index, space.gene("classifier.norm").index]
    rng = np.random.default_rng(4)
    for _ in range(3):
        _check_ownership(space, rng, list(range(len(space.genes))))


def test_weight_ownership_ganhard_reduced(ganhard_small):
    space = ganhard_small
    assert space.size == compile_space(SPACES / "ganhard.nas").size  # widths do not change the space
    weighted = [g.index for g in space.genes if g.owns_weights]
    weightless = [g.index for g in space.genes if not g.owns_weights]
    rng = np.random.default_rng(5)
    for k in range(2):
        picked = [int(i) for i in rng.choice(weighted, 6, replace=False)] + [int(rng.choice(weightless))]
        assert _check_ownership(space, rng, picked) == 7


def test_prefixes_are_disjoint_between_unlinked_genes(ganhard_small):
    model = ganhard_small.build(ganhard_small.random_genome(np.random.default_rng(0)), seed=0)
    keys = list(model.state_dict())
    owner: dict[str, int] = {}
    for g in ganhard_small.genes:
        for k in ganhard_small.owned_keys(g.index, keys):
            assert k not in owner or owner[k] in g.linked, (k, g.name)
            owner[k] = g.index


# ---- schema hash -----------------------------------------------------------------------------------------------------

def test_schema_hash_stability():
    text = DIGITS.read_text()
    base = compile_text(text).schema_hash
    assert compile_text(text, overrides={"width": "8"}).schema_hash == base
    assert compile_text(text, overrides={"classes": "3"}).schema_hash == base
    edited = "# a new comment\n\n" + text.replace("  slot stage1", "\n   slot   stage1  # moved\n")
    assert compile_text(edited).schema_hash == base
    added = text.replace("  skip     = identity\n", "  skip     = identity\n  relu_only = relu\n")
    assert compile_text(added).schema_hash != base
    renamed = text.replace("  skip     = identity", "  keep     = identity")
    assert compile_text(renamed).schema_hash != base
    reordered = text.replace("param dropout: [0.0, 0.1, 0.3]", "param dropout: [0.1, 0.0, 0.3]")
    assert compile_text(reordered).schema_hash != base


# ---- exact size ------------------------------------------------------------------------------------------------------

SIZED = """
space sized
const c = 4
values ACT = [relu, tanh, gelu, swish]
options EDGE[H, W]: [c, H, W] -> [c, H, W] {
  none = none
  skip = identity
  conv = conv(c, k=3, pad=1)
  pool = max_pool(3, stride=1, pad=1)
  act  = relu
}
block Cell[H, W](x: [c, H, W]) -> [c, H, W] {
  slot e0: EDGE
  param on: [off, on]
  return sum(x >> e0, x if on) ?? x
}
network net(x: [c, 8, 8]) -> [2] {
  slot stem: [c, 8, 8] -> [c, 8, 8] {
    a = identity
    b = conv(c, k=1)
    d = relu
  }
  param act: ACT
  c1 = Cell(x=x >> stem >> activation(act))
  c2 = Cell(x=c1)
  return c2 >> global_avg_pool >> linear(2)
}
"""


def test_exact_size_and_genome_order():
    space = compile_text(SIZED)
    assert [g.name for g in space.genes] == ["net.stem", "net.act", "net.c1.e0", "net.c1.on", "net.c2.e0",
                                             "net.c2.on"]
    assert space.size == 3 * 4 * (5 * 2) ** 2 == 1200
    assert isinstance(space.size, int)
    assert [g.owns_weights for g in space.genes] == [True, False, True, False, True, False]
    assert space.gene("net.c2.e0").prefixes == ("net.c2.e0.",)
    assert space.gene("net.c1.e0").options == ("none", "skip", "conv", "pool", "act")


def test_size_is_an_exact_python_int_for_huge_spaces():
    many = "space big\nnetwork n(x: [1]) -> [1] {\n" + "".join(
        f"  param p{i}: [a, b, c, d, e, f, g]\n" for i in range(40)) + "  return x\n}\n"
    space = compile_text(many)
    assert space.size == 7 ** 40
    assert space.size_text().startswith(f"{7 ** 40:,} ≈ 6.37e33")


# ---- CLI -------------------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_compile_writes_a_loadable_artifact(tmp_path):
    out = tmp_path / "digits.json"
    result = runner.invoke(app, ["compile", str(DIGITS), "--set", "width=8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3,888" in result.stdout and "schema" in result.stdout
    space = CompiledSpace.from_json(out.read_text())
    assert space.constants["width"] == 8
    assert space.schema_hash == compile_space(DIGITS).schema_hash
    genome = space.random_genome(np.random.default_rng(0))
    assert space.build(genome, seed=0).classifier(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_cli_check_errors_on_stderr_exit_1(tmp_path):
    bad = tmp_path / "bad.nas"
    bad.write_text((Path(__file__).parent / "golden" / "several_errors.nas").read_text())
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 1
    assert "error[E0201]" in result.stderr and "error[E0101]" in result.stderr and "aborting: 3 errors" in result.stderr
    assert "error[" not in result.stdout
    result = runner.invoke(app, ["check", str(bad), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [d["code"] for d in data["diagnostics"]] == ["E0201", "E0101", "E0105"]
    assert data["diagnostics"][0]["line"] == 8 and data["diagnostics"][0]["expected"] == "[16, H, W]"
    ok = runner.invoke(app, ["check", str(DIGITS)])
    assert ok.exit_code == 0 and "7 genes" in ok.stdout


def test_cli_sample_is_deterministic_and_decodable(tmp_path, digits):
    first = runner.invoke(app, ["sample", str(DIGITS), "--seed", "3"])
    second = runner.invoke(app, ["sample", str(DIGITS), "--seed", "3"])
    other = [runner.invoke(app, ["sample", str(DIGITS), "--seed", str(s)]).stdout for s in range(4, 9)]
    assert first.exit_code == 0 and first.stdout == second.stdout
    assert any(o != first.stdout for o in other)
    genome = digits.genome_from_json(json.loads(first.stdout))
    assert len(genome) == 7


def test_cli_show_prints_the_options(tmp_path, digits):
    genome = digits.validate([5, 1, 1, 2, 0, 2, 1])
    path = tmp_path / "g.json"
    path.write_text(json.dumps(digits.to_json_genome(genome)))
    result = runner.invoke(app, ["show", str(DIGITS), str(path)])
    assert result.exit_code == 0, result.output
    for option in ("residual", "tanh", "avg", "conv5", "relu", "0.3", "mlp"):
        assert option in result.stdout
    assert "parameters" in result.stdout
    foreign = dict(digits.to_json_genome(genome), schema_hash="0000000000000000")
    path.write_text(json.dumps(foreign))
    result = runner.invoke(app, ["show", str(DIGITS), str(path)])
    assert result.exit_code == 1 and "schema" in result.stderr and "Traceback" not in result.output


def test_cli_ops_lists_the_library():
    result = runner.invoke(app, ["ops"])
    assert result.exit_code == 0
    for name in ("conv(out", "linear(out", "upsample", "residual", "none"):
        assert name in result.stdout
    assert "[F] -> [out]" in result.stdout  # a doc's brackets are text, not rich markup (it ate `[F]`)
    for name in ("conv1d(out", "attention(heads", "patch_embed(out, patch)", "embedding(vocab, out)", "mean_tokens"):
        assert name in result.stdout
    assert "[T, D] -> [D]" in result.stdout and "[C, L]" in result.stdout  # the sequence ops' shapes, kept too


def test_diagnostic_error_for_missing_file():
    with pytest.raises(DiagnosticError, match="no such file"):
        compile_space(SPACES / "does_not_exist.nas")


@pytest.mark.parametrize(("shape", "op", "message"), [
    ("[]", "layernorm", "at least one dimension"),  # found by the language fuzzing: was an IndexError
    ("[8]", "batchnorm", "rank-3 input"),  # BatchNorm2d would have failed only when the network ran
])
def test_normalisation_ops_check_the_rank_of_their_input(shape: str, op: str, message: str) -> None:
    with pytest.raises(DiagnosticError) as err:
        compile_text(f"space s\nnetwork n(x: {shape}) -> {shape} {{\n  return x >> {op}\n}}\n", "norm.nas")
    diag = err.value.diagnostics[0]
    assert diag.code == "E0206" and message in diag.message and diag.span.line == 3


# ---- conditions on constants ----------------------------------------------------------------------------------------

CONST_COND = """
space flags
const extra = off
const width = 4 * (2 if extra else 3)
network net(x: [4]) -> [4] {
  param gate: [off, on]
  a = (x >> linear(4)) if extra
  b = (x >> linear(4)) if gate and not extra
  return sum(x >> linear(4), a, b)
}
network wide(x: [4]) -> [width] {
  return x >> linear(width)
}
"""


def test_a_condition_on_constants_is_decided_at_compile_time():
    off = compile_text(CONST_COND)
    on = compile_text(CONST_COND, overrides={"extra": "on"})
    # `a` is compiled only when `extra` is on: no module, not even an unreachable one, when it is off.
    keys_off = set(off.build([1]).state_dict())
    keys_on = set(on.build([1]).state_dict())
    assert keys_on - keys_off == {"net.a.0.weight", "net.a.0.bias"}
    # Mixed with a gene, the condition is decided per genome as usual (`b`'s layer exists either way, reached or
    # not), and the constant still counts: `b` is reached only when gate is on and extra is off.
    assert "net.b.0.weight" in keys_off and "net.b.0.weight" in keys_on
    x = torch.randn(3, 4)
    m_off0, m_off1 = off.build([0], seed=0), off.build([1], seed=0)
    assert not torch.allclose(m_off0.net(x), m_off1.net(x))
    m_on0, m_on1 = on.build([0], seed=0), on.build([1], seed=0)
    with torch.no_grad():
        assert torch.allclose(m_on0.net(x), m_on1.net(x))
    # A value chosen by a constant: 4 * 3 off, 4 * 2 on.
    assert off.build([0]).wide(x).shape == (3, 12) and on.build([0]).wide(x).shape == (3, 8)
    assert off.schema_hash == on.schema_hash


def test_a_value_chosen_by_a_gene_is_refused():
    text = CONST_COND.replace("const width = 4 * (2 if extra else 3)",
                              "const width = 4 * (2 if gate else 3)")
    with pytest.raises(DiagnosticError) as err:
        compile_text(text)
    assert "E0101" in str(err.value) or "E0105" in str(err.value)


LINEAR_PATTERNS = """
space linear_patterns

options DOWN[C, H, W]: [C, 2 * H, 2 * W] -> [C, H, W] {{
  max = max_pool(2)
  avg = avg_pool(2)
}}

block Grow[C, L](x: [C, 2 * L + 1, 2 * L + 1]) -> [C, L, L] {{
  return x >> conv(C, k=3, pad=1) >> max_pool(3, stride=2)
}}

network net(x: [1, {size}, {size}]) -> [4] {{
  slot down: DOWN
  stem = x >> conv(4, k=3, pad=1)
  g = Grow(x=stem)
  return g >> down >> flatten >> linear(4)
}}
"""


@pytest.mark.parametrize("size", range(5, 16))
def test_interfaces_linear_in_a_shape_variable_bind_it_exactly(size: int) -> None:
    """`[C, 2 * H, 2 * W]` and `[C, 2 * L + 1, ...]` solve for the variable at the input's size: the compiled shapes
    are those torch computes (the final linear layer is sized from them), and a size the pattern cannot take exactly
    is E0212, never a fractional size."""
    text = LINEAR_PATTERNS.format(size=size)
    grow = (size - 1) / 2  # L of the block
    if grow != int(grow) or int(grow) % 2:  # the block needs an odd size, the slot then an even L
        with pytest.raises(DiagnosticError) as info:
            compile_text(text, "linear.nas")
        assert "E0212" in str(info.value) and "would be" in str(info.value)
        return
    space = compile_text(text, "linear.nas")
    for option in range(2):
        net = space.build(space.validate([option])).net
        # the linear layer's inputs are sized from the compiler's L / 2: a wrong binding fails in torch here
        assert tuple(net(torch.zeros(2, 1, size, size)).shape) == (2, 4)
