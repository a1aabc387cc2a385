"""The paper's three spaces, checked against the authors' code (github.com/AwesomeLemon/PBT-NAS at commit 5a27434:
the spaces in search_space/advnas_ss.py and rl_normact_ss.py, the networks in models/gan/ and models/rl/)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.compiler import compile_space

SPACES = Path(__file__).resolve().parents[2] / "spaces"
SMALL_GAN = {"gf_dim": "16", "df_dim": "16"}
SMALL_RL = {"filters": "8", "hidden": "32", "action_dim": "6"}


@lru_cache(maxsize=None)
def space(name: str, **overrides: str):
    return compile_space(SPACES / f"{name}.nas", overrides)


def small(name: str):
    return space(name, **(SMALL_RL if name == "drqv2" else SMALL_GAN))


# ---- sizes and genome layout ----------------------------------------------------------------------------------------

def test_exact_sizes_and_gene_counts():
    gan, hard, rl = space("gan"), space("ganhard"), space("drqv2")
    assert (len(gan.genes), len(hard.genes), len(rl.genes)) == (21, 72, 36)
    assert gan.size == 151263 ** 3 == 3_460_972_340_748_447
    assert hard.size == 186_624 * 151263 ** 3 * 38_416_000 * 105_413_504 ** 3
    assert f"{hard.size:.4e}" == "2.9065e+52"
    assert rl.size == 2 ** 53 * 512_000
    assert f"{rl.size:.4e}" == "4.6117e+21"


def test_size_does_not_depend_on_widths():
    assert space("ganhard").size == small("ganhard").size
    assert space("ganhard").schema_hash == small("ganhard").schema_hash


def test_gan_genome_order_matches_reference():
    names = [g.name for g in space("gan").genes]
    per_cell = ["up0", "up1", "c0", "c1", "c2", "c3", "c4"]
    assert names == [f"generator.cell{k}.{n}" for k in (1, 2, 3) for n in per_cell]
    counts = [len(g.options) for g in space("gan").genes]
    assert counts == [3, 3, 7, 7, 7, 7, 7] * 3


def test_ganhard_genome_order_matches_reference():
    genes = space("ganhard").genes
    names = [g.name.split(".", 1)[1] for g in genes]
    assert names[:11] == ["p0.linear", "p0.up_mode", "p0.dropout",
                          "p1_enabled", "p1.linear", "p1.up_mode", "p1.dropout",
                          "p2_enabled", "p2.linear", "p2.up_mode", "p2.dropout"]
    assert [len(g.options) for g in genes[:11]] == [6, 2, 3, 2, 6, 2, 3, 2, 6, 2, 3]
    assert all(g.name.startswith("generator.cell") for g in genes[11:32])
    block = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "downsample", "down0", "down1"]
    assert names[32:] == [f"block{b}.{n}" for b in (1, 2, 3, 4) for n in block]
    assert [len(g.options) for g in genes[32:42]] == [5, 5, 5, 7, 7, 7, 7, 2, 8, 8]
    assert [len(g.options) for g in genes[42:52]] == [7] * 7 + [2, 8, 8]
    assert genes[40].options == ("avg_pool_input", "max_pool_input", "avg_pool", "max_pool", "conv_3x3", "conv_5x5",
                                 "dil_conv_3x3", "dil_conv_5x5")
    assert genes[13].options == ("none", "skip_connect", "conv_1x1", "conv_3x3", "conv_5x5", "dil_conv_3x3",
                                 "dil_conv_5x5")


def test_drqv2_genome_order_matches_reference():
    names = [g.name for g in space("drqv2").genes]
    actor = ["policy1", "policy2", "policy3", "act0", "act1", "act2", "act3", "feature_dim", "trunk_act", "sn"]
    q = ["layer1", "act1", "layer2", "act2", "layer3", "act3", "act0"]
    critic = [f"q1.{n}" for n in q] + [f"q2.{n}" for n in q] + ["feature_dim", "trunk_act", "sn_q1", "sn_q2"]
    encoder = ["convnet1", "convnet2", "convnet3", "act0", "act1", "act2", "act3", "sn"]
    assert names == [f"actor.{n}" for n in actor] + [f"critic.{n}" for n in critic] + [f"encoder.{n}" for n in encoder]
    genes = space("drqv2").genes
    assert genes[7].values == (25, 50, 100, 150)
    assert len(genes[28].options) == 10 and genes[0].options == ("id", "linear", "residual_05", "residual_2")


# ---- weight ownership -----------------------------------------------------------------------------------------------

def test_gan_weightless_genes_and_unowned_layers():
    hard = space("ganhard")
    by_name = {g.name: g for g in hard.genes}
    for name, gene in by_name.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("up_mode", "dropout", "downsample") or leaf.endswith("_enabled"):
            assert not gene.owns_weights and gene.prefixes == (), name
        else:
            assert gene.owns_weights and gene.prefixes == (name + ".",), name
    model = small("ganhard").build(small("ganhard").random_genome(np.random.default_rng(1)), seed=0)
    owned = {k for g in small("ganhard").genes for k in small("ganhard").owned_keys(g.index, model.state_dict())}
    unowned = {k.rsplit(".", 2)[0] for k in model.state_dict() if k not in owned}
    assert unowned == {"generator.skip_in2", "generator.skip_in3a", "generator.skip_in3b", "generator.to_rgb",
                       "discriminator.head"}


def test_gan_space_projections_and_discriminator_belong_to_no_gene():
    s = small("gan")
    model = s.build(s.random_genome(np.random.default_rng(0)), seed=0)
    owned = {k for g in s.genes for k in s.owned_keys(g.index, model.state_dict())}
    assert all(k.startswith("generator.cell") for k in owned)
    assert not any(k in owned for k in model.state_dict() if k.startswith(("discriminator.", "generator.l")))


def test_rl_feature_dim_owns_every_layer_it_shapes():
    rl = space("drqv2")
    by_name = {g.name: g for g in rl.genes}
    assert by_name["actor.feature_dim"].prefixes == ("actor.trunk.0.", "actor.trunk.1.", "actor.policy0.0.")
    assert by_name["critic.feature_dim"].prefixes == ("critic.trunk.0.", "critic.trunk.1.", "critic.q1.layer0.0.",
                                                      "critic.q2.layer0.0.")
    for name, gene in by_name.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf.startswith("act") or leaf.startswith("sn") or leaf == "trunk_act":
            assert not gene.owns_weights, name
    model = small("drqv2").build(small("drqv2").random_genome(np.random.default_rng(3)), seed=0)
    owned = {k for g in small("drqv2").genes for k in small("drqv2").owned_keys(g.index, model.state_dict())}
    unowned = {k.rsplit(".", 2)[0] for k in model.state_dict() if k not in owned}
    # encoder convnet.0, the actor head and both Q heads belong to no gene (no gene's key pattern matches them)
    assert unowned == {"encoder.convnet0", "actor.mean", "critic.q1.head", "critic.q2.head"}


# ---- builders: 50 random genomes at reduced width, one at full width ------------------------------------------------

@pytest.mark.parametrize("name", ["gan", "ganhard"])
def test_fifty_random_gan_genomes_forward(name):
    s = small(name)
    rng = np.random.default_rng(0)
    z = torch.randn(2, 120)
    img = torch.randn(2, 3, 32, 32)
    for _ in range(50):
        model = s.build(s.random_genome(rng), seed=0)
        with torch.no_grad():
            out = model.generator(z)
            assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1
            logits = model.discriminator(img)
            assert logits.shape == (2, 1) and torch.isfinite(logits).all()


def test_fifty_random_drqv2_genomes_forward():
    s = small("drqv2")
    rng = np.random.default_rng(0)
    obs = torch.randint(0, 256, (2, 9, 84, 84)).float()
    action = torch.rand(2, 6) * 2 - 1
    for _ in range(50):
        model = s.build(s.random_genome(rng), seed=0)
        with torch.no_grad():
            h = model.encoder(obs)
            assert h.shape == (2, 8 * 41 * 41)
            mean = model.actor(h)
            assert mean.shape == (2, 6) and mean.abs().max() <= 1
            q1, q2 = model.critic(h, action)
            assert q1.shape == q2.shape == (2, 1)


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_width_parameter_counts():
    gan = space("gan")
    model = gan.build(gan.random_genome(np.random.default_rng(0)), seed=0)
    # AutoGAN discriminator at df_dim 128 (models/gan/advnas.py AutoGanDiscriminator), convs + SN linear head:
    conv = lambda cin, cout, k: cin * cout * k * k + cout  # noqa: E731
    autogan = (conv(3, 128, 3) + conv(128, 128, 3) + conv(3, 128, 1) + 2 * conv(128, 128, 3) + conv(128, 128, 1)
               + 4 * conv(128, 128, 3) + 128)
    assert _count(model.discriminator) == autogan == 1_053_824
    assert 7e6 <= _count(model.generator) <= 16.5e6

    hard = space("ganhard")
    genome = hard.validate([5, 0, 0, 1, 5, 0, 0, 1, 5, 0, 0] + [0, 0, 3, 3, 3, 3, 3] * 3
                           + [1, 1, 1, 3, 3, 3, 3, 1, 4, 4] + [3, 3, 3, 3, 3, 3, 3, 1, 4, 4] * 3)
    model = hard.build(genome, seed=0)
    # Every D edge a 3x3 conv and both downsamplers 3x3 stride-2 convs: the count follows from the layers.
    d = 3 * conv(3, 128, 3) + 4 * conv(128, 128, 3) + 2 * conv(128, 128, 3)
    d += 3 * (9 * conv(128, 128, 3))
    d += 128  # the head: SN linear 128 -> 1 without bias
    assert _count(model.discriminator) == d
    # Generator: part_target projections, nearest ups, conv_3x3 edges, the fixed skip-ins and to_rgb.
    g = (40 * 4096 + 4096) + (40 * 16384 + 16384) + (40 * 65536 + 65536)
    g += 3 * (2 * conv(256, 256, 1) + 5 * conv(256, 256, 3))
    g += 3 * conv(256, 256, 1) + 2 * 256 + conv(256, 3, 3)
    assert _count(model.generator) == g
    assert 7e6 <= g <= 16.5e6

    rl = space("drqv2", action_dim="12")
    genome = rl.validate([1, 1, 1] + [2] * 4 + [3, 2, 1] + [1, 2, 1, 2, 1, 2, 2] * 2 + [3, 2, 1, 1]
                         + [1, 1, 1] + [2] * 4 + [0])
    model = rl.build(genome, seed=0)
    lin = lambda i, o: i * o + o  # noqa: E731
    F = 150
    assert _count(model.actor) == lin(53792, F) + 2 * F + lin(F, 1024) + 3 * lin(1024, 1024) + lin(1024, 12)
    q = lin(F + 12, 1024) + 3 * lin(1024, 1024) + lin(1024, 1)
    assert _count(model.critic) == lin(53792, F) + 2 * F + 2 * q
    assert _count(model.encoder) == conv(9, 32, 3) + 3 * conv(32, 32, 3)
    # the orders of magnitude of the authors' networks for action_dim 12: the 53,792-wide trunk dominates the actor
    assert 0.02e6 < _count(model.encoder) < 0.1e6 and 8e6 < _count(model.actor) < 15e6


# ---- GanHard discriminator block semantics (DisBlockMy), with the branch sum ----------------------------------------

def _ganhard_genome(block2: list[int]) -> list[int]:
    base = [5, 0, 0, 1, 5, 0, 0, 1, 5, 0, 0] + [0, 0, 3, 3, 3, 3, 3] * 3
    keep = [3, 3, 3, 3, 3, 3, 3, 0, 4, 4]  # conv_3x3 everywhere, no downsampling
    return base + [1, 1, 1, 3, 3, 3, 3, 0, 4, 4] + block2 + keep + keep


def test_both_branches_reach_the_output():
    s = small("ganhard")
    model = s.build(_ganhard_genome([3, 3, 3, 3, 3, 3, 3, 1, 4, 4]), seed=0)
    model.discriminator(torch.randn(2, 3, 32, 32)).sum().backward()
    for edge in ("c2", "c4", "c6", "down1", "c1", "c3", "c5", "down0"):
        grads = [p.grad for n, p in model.discriminator.named_parameters() if n.startswith(f"block2.{edge}.")]
        assert grads and all(g is not None and g.abs().sum() > 0 for g in grads), edge


def _authors_and_sum(genome: list[int]):
    """The same genome and weights with `sum_branches=off` (the reference's overwrite) and on (this project)."""
    off = space("ganhard", **SMALL_GAN, sum_branches="off").build(genome, seed=0)
    on = small("ganhard").build(genome, seed=0)
    assert on.state_dict().keys() == off.state_dict().keys()  # the option changes no key: genomes and weights move
    on.load_state_dict(off.state_dict())
    on.eval(), off.eval()  # eval: no power iteration, so both read the same spectral-norm vectors
    return off, on


def test_authors_overwrite_keeps_branch_a_only():
    genome = _ganhard_genome([3, 3, 3, 3, 3, 3, 3, 0, 4, 4])  # both branches in every block, no downsampling
    off, on = _authors_and_sum(genome)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not torch.allclose(off.discriminator(x), on.discriminator(x), atol=1e-6)
        # Silence branch B (its last edge c6 outputs zeros) in every block of the summing model: it then computes
        # exactly what the reference's overwrite computes, block by block.
        _silence_branch_b(on, (1, 2, 3, 4))
        torch.testing.assert_close(off.discriminator(x), on.discriminator(x), rtol=0, atol=1e-6)
    # With the overwrite, branch B is dead compute: no gradient reaches c2, c4, c6 of a block; branch A's do.
    off.train()
    off.discriminator(x).sum().backward()
    for edge, alive in (("c2", False), ("c4", False), ("c6", False), ("c1", True), ("c3", True), ("c5", True)):
        grads = [q.grad for n, q in off.discriminator.named_parameters() if n.startswith(f"block2.{edge}.")]
        assert grads, edge
        assert all((g is not None and g.abs().sum() > 0) == alive for g in grads), edge


def _silence_branch_b(model, blocks) -> None:
    for k in blocks:
        conv = getattr(model.discriminator, f"block{k}").c6._modules["1"]
        conv.register_forward_hook(lambda module, inputs, output: torch.zeros_like(output))


def test_authors_overwrite_returns_branch_b_when_a_is_absent():
    genome = _ganhard_genome([3, 0, 3, 3, 3, 3, 3, 0, 4, 4])  # block 2: c1 none, so only branch B exists there
    off, on = _authors_and_sum(genome)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    _silence_branch_b(on, (1, 3, 4))  # blocks with both branches: the summing model computes branch A there
    with torch.no_grad():
        torch.testing.assert_close(off.discriminator(x), on.discriminator(x), rtol=0, atol=1e-6)
        _silence_branch_b(on, (2,))  # and block 2's output is branch B: silencing it changes the result
        assert not torch.allclose(off.discriminator(x), on.discriminator(x), atol=1e-4)


def _block_output_size(genome: list[int]) -> int:
    s = small("ganhard")
    model = s.build(genome, seed=0)
    seen = {}
    target = model.discriminator.block3.c0._modules["1"]  # relu >> conv: the conv reads block 2's output

    def record(module, inputs, output):
        seen.setdefault("size", inputs[0].shape[-1])  # returns None: the hook must not replace the output

    target.register_forward_hook(record)
    model.discriminator(torch.randn(1, 3, 32, 32))
    return seen["size"]


def test_downsampling_follows_the_flag_and_the_branches():
    # c0..c6 conv_3x3 with the flag on: 32 -> 16 in block 2
    assert _block_output_size(_ganhard_genome([3, 3, 3, 3, 3, 3, 3, 1, 4, 4])) == 16
    # flag off: no downsampling
    assert _block_output_size(_ganhard_genome([3, 3, 3, 3, 3, 3, 3, 0, 4, 4])) == 32
    # input pools on both branches (avg_pool_input / max_pool_input): still one halving
    assert _block_output_size(_ganhard_genome([3, 3, 3, 3, 3, 3, 3, 1, 0, 1])) == 16
    # neither branch (c1, c2 none): node 0 is returned without downsampling even with the flag on
    assert _block_output_size(_ganhard_genome([3, 0, 0, 3, 3, 3, 3, 1, 4, 4])) == 32


def test_projection_enable_flags_change_the_output_but_not_the_keys():
    s = small("ganhard")
    on = _ganhard_genome([3] * 7 + [0, 4, 4])
    off = list(on)
    off[3] = off[7] = 0
    m_on, m_off = s.build(on, seed=0), s.build(off, seed=0)
    assert m_on.state_dict().keys() == m_off.state_dict().keys()
    for a, b in zip(m_on.state_dict().values(), m_off.state_dict().values()):
        assert torch.equal(a, b)
    z = torch.randn(2, 120)
    m_on.eval(), m_off.eval()
    assert not torch.allclose(m_on.generator(z), m_off.generator(z))
