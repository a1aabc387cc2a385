"""End to end on the real GanHard space (small widths): the task's EMA and moments use the compiled space's key
namespace, so the engine's mixing by gene ownership works on them, and a search-like sequence stays healthy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.tasks.gan import GanOptions, GanTask

SPACES = Path(__file__).resolve().parents[2] / "spaces"
SMALL = {"gf_dim": "16", "df_dim": "16", "bottom_width": "2"}  # 16 px images

pytestmark = pytest.mark.skipif(not (SPACES / "ganhard.nas").is_file(), reason="spaces/ganhard.nas not present")


@pytest.fixture(scope="module")
def space():  # type: ignore[no-untyped-def]
    from pbtnas.compiler import compile_space

    return compile_space(SPACES / "ganhard.nas", overrides=SMALL)


def test_ganhard_member_trains_mixes_and_scores(space, gan_cache: Path) -> None:  # type: ignore[no-untyped-def]
    options = GanOptions(preset="tiny", max_train_images=160, d_batch_size=16, fid_images=200, cache_dir=gan_cache,
                         device="cpu")
    task = GanTask(space, options, None)
    assert (task.latent_dim, task.image_size) == (120, 16)
    rng = np.random.default_rng(0)
    base_genome, donor_genome = space.random_genome(rng), space.random_genome(rng)

    base, metrics = task.train(task.new_member(base_genome, seed=1), base_genome, 0, 1, seed=1)
    donor, _ = task.train(task.new_member(donor_genome, seed=2), donor_genome, 0, 1, seed=2)
    assert metrics["d_steps"] == 10 and metrics["g_steps"] == 2
    assert all(k.startswith("generator.") for k in base["shadows"]["ema"])
    model_keys = set(base["model"])
    assert set(base["optim"]) <= model_keys and set(base["shadows"]["ema"]) <= model_keys

    # PBT-NAS mixing as the engine does it: take half of the weight-owning genes from the donor; their keys get
    # the donor's weights (plain copy here) and EMA, and lose their moments.
    values = list(base_genome.values)
    inherited: list[str] = []
    for gene in space.genes:
        if gene.owns_weights and gene.index % 2 == 0:
            values[gene.index] = donor_genome.values[gene.index]
    child_genome = space.validate(values)
    child_keys = set(space.build(child_genome, seed=0).state_dict())
    for gene in space.genes:
        if gene.owns_weights and gene.index % 2 == 0:
            inherited += space.owned_keys(gene.index, child_keys)
    assert inherited and set(inherited) <= set(donor["model"])  # the donor has every inherited key, same shapes
    child = {
        "model": {k: (donor["model"][k] if k in inherited else base["model"][k]) for k in child_keys},
        "shadows": {"ema": {k: (donor if k in inherited else base)["shadows"]["ema"][k]
                            for k in child_keys if k.startswith("generator.") and
                            k in (donor if k in inherited else base)["shadows"]["ema"]}},
        "optim": {k: v for k, v in base["optim"].items() if k not in inherited and k in child_keys},
        "meta": dict(base["meta"]),
    }
    trained, metrics = task.train(child, child_genome, 1, 2, seed=3)
    assert trained["meta"]["epochs_done"] == 2
    assert all(np.isfinite(v) for v in metrics.values())

    fitness = task.evaluate(trained, child_genome, seed=0)
    assert np.isfinite(fitness) and fitness < 0
    gen = task.final_generator(trained, child_genome)
    with torch.no_grad():
        out = gen(torch.randn(3, 120))
    assert out.shape == (3, 3, 16, 16) and out.abs().max() <= 1.0


def test_a_grey_ganhard_trains_on_one_channel_and_scores_like_rgb(gan_cache: Path) -> None:
    """`make demo`'s space: img_channels = 1 on the grey digits. Both networks see one channel; the digits-FID
    classifier sees the grey image repeated in R, G and B, as the stored digits are, so that the scores of a grey
    and an RGB generator are on one scale."""
    from pbtnas.compiler import compile_space
    from pbtnas.tasks.gan.outputs import generate

    grey = compile_space(SPACES / "ganhard.nas", overrides={**SMALL, "img_channels": "1"})
    options = GanOptions(preset="tiny", max_train_images=160, d_batch_size=16, fid_images=200, cache_dir=gan_cache,
                         device="cpu")
    task = GanTask(grey, options, None)
    assert task.train_data.images.shape[1:] == (1, 16, 16) and task.data.images.shape[1] == 3
    assert torch.equal(task.train_data.images[:, 0], task.data.images[:, 1])
    genome = grey.random_genome(np.random.default_rng(0))
    state, metrics = task.train(task.new_member(genome, seed=1), genome, 0, 1, seed=1)
    assert metrics["d_steps"] == 10
    generator = task.final_generator(state, genome)
    images = generate(generator, torch.randn(4, task.latent_dim))
    assert images.shape == (4, 1, 16, 16)

    # the FID of the grey generator is the FID of the same images given as RGB by a 3-channel module
    class AsRGB(torch.nn.Module):
        def __init__(self, g: torch.nn.Module) -> None:
            super().__init__()
            self.g = g

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.g(z).expand(-1, 3, -1, -1)

    fid = task.fid(generator, 200, seed=3)
    assert np.isfinite(fid) and fid == task.fid(AsRGB(generator), 200, seed=3)


def test_a_grey_space_refuses_colour_images() -> None:
    from pbtnas.tasks.gan.data import DatasetError, ImageData

    colour = ImageData("toy", torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).reshape(2, 3, 4, 4), torch.zeros(2).long())
    with pytest.raises(DatasetError, match="colour images"):
        colour.grey()
    grey = ImageData("toy", torch.arange(2 * 16, dtype=torch.uint8).reshape(2, 1, 4, 4).repeat(1, 3, 1, 1),
                     torch.zeros(2).long())
    assert grey.grey().images.shape == (2, 1, 4, 4)
