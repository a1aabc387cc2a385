"""GAN benchmark: generator+discriminator training throughput on the CPU (tiny preset and paper width), and the
time of a 5k-image FID evaluation (digits-FID; Inception FID on its real FLOPs).

    .venv/bin/python benchmarks/gan.py                      # everything (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/gan.py --only tiny fid
    .venv/bin/python benchmarks/gan.py --inception-weights weights-inception-2015-12-05-6726825d.pth

Throughput is training images per second: real images that pass through a discriminator step (each also costs a
fake batch of the same size, and every 5th step a generator step on twice as many). Without real Inception
weights the Inception timing uses torch-fidelity's network with random weights: the same FLOPs, a meaningless
score; it times ``--inception-images`` images and scales to 5k (said so in the output).

Results are merged into benchmarks/results/gan.json (sections you did not run are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _machine import cpu_model  # benchmarks/ is on sys.path when this file runs
from pbtnas.compiler import compile_space
from pbtnas.tasks.gan import GanOptions
from pbtnas.tasks.gan.data import ImageData, load_digits
from pbtnas.tasks.gan.metrics import (
    FrechetScorer,
    InceptionFeatures,
    load_or_train_classifier,
    reference_stats,
)
from pbtnas.tasks.gan.data import to_uint8
from pbtnas.tasks.gan.metrics import extract_features
from pbtnas.tasks.gan.outputs import fid_of_generator, fixed_latents, generate
from pbtnas.tasks.gan.task import int_constant
from pbtnas.tasks.gan.training import LoopConfig, run_epochs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "gan.json"


def tiny_set(width: int) -> dict[str, str]:
    """The reduced widths of a laptop run: 16 px images (img_size = 8 x bottom_width)."""
    return {"gf_dim": str(width), "df_dim": str(width), "bottom_width": "2"}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "cpu": cpu_model(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__}


def _space(path: Path, overrides: dict[str, str]) -> Any:
    return compile_space(path, overrides=overrides)


def train_throughput(space_path: Path, overrides: dict[str, str], data: ImageData, d_batch: int, iterations: int,
                     genomes: int) -> dict[str, Any]:
    """Images/s of the training loop over ``genomes`` random genomes, ``iterations`` D steps each."""
    space = _space(space_path, overrides)
    latent = int_constant(space, "latent_dim")
    opts = GanOptions(d_batch_size=d_batch)
    cfg = LoopConfig(latent_dim=latent, d_batch=d_batch, g_batch=2 * d_batch, n_critic=5, ema_decay=0.999)
    sub = data.head(iterations * d_batch)
    rates, params = [], []
    for g in range(genomes):
        genome = space.random_genome(np.random.default_rng(g))
        model = space.build(genome, seed=g)
        params.append((sum(p.numel() for p in model.generator.parameters()),
                       sum(p.numel() for p in model.discriminator.parameters())))
        kw = {"lr": opts.lr, "betas": opts.betas, "eps": opts.eps}
        opt_g = torch.optim.Adam(model.generator.parameters(), **kw)
        opt_d = torch.optim.Adam(model.discriminator.parameters(), **kw)
        ema = {f"generator.{n}": p.detach().clone() for n, p in model.generator.named_parameters()}
        if iterations > 5:  # first steps allocate; leave them out of the timing (too costly at paper width)
            run_epochs(model, opt_g, opt_d, ema, sub.head(2 * d_batch), cfg, 0, 1, 0, torch.device("cpu"))
        stats = run_epochs(model, opt_g, opt_d, ema, sub, cfg, 0, 1, 1, torch.device("cpu"))
        rates.append(stats.images / stats.seconds)
        print(f"  genome {g}: {rates[-1]:.1f} img/s  (G {params[-1][0] / 1e6:.2f}M, D {params[-1][1] / 1e6:.2f}M "
              f"params)", flush=True)
    return {"space": str(space_path.relative_to(ROOT)) if space_path.is_relative_to(ROOT) else space_path.name,
            "overrides": overrides, "image_size": data.image_size, "d_batch": d_batch, "g_batch": 2 * d_batch,
            "iterations": iterations, "genomes": genomes, "images_per_s": float(np.mean(rates)),
            "images_per_s_each": rates, "params_g_d": params}


def synthetic_images(n: int, size: int) -> ImageData:
    g = torch.Generator().manual_seed(0)
    return ImageData("synthetic", torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g),
                     torch.zeros(n, dtype=torch.long))


def digits_fid_time(space_path: Path, n_images: int) -> dict[str, Any]:
    data = load_digits(16)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        net = load_or_train_classifier(data, Path(cache))
        t_classifier = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = reference_stats(net, data, None, Path(cache))
        t_ref = time.perf_counter() - t0
    space = _space(space_path, tiny_set(16))
    gen = space.build(space.random_genome(np.random.default_rng(0)), seed=0).generator.eval()
    t0 = time.perf_counter()
    fid = fid_of_generator(gen, net, ref, int_constant(space, "latent_dim"), n_images, seed=0, batch_size=250)
    t_eval = time.perf_counter() - t0
    return {"metric": "digits-FID", "n_images": n_images, "seconds": t_eval, "fid_untrained": fid,
            "classifier_train_seconds_once": t_classifier, "classifier_accuracy": net.accuracy,
            "reference_stats_seconds_once": t_ref}


def _random_inception() -> InceptionFeatures:
    """torch-fidelity's Inception-v3 with random weights (the real network's FLOPs; no download)."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    real_load, real_sd = fe.load_state_dict_from_url, fe.FeatureExtractorInceptionV3.load_state_dict
    fe.load_state_dict_from_url = lambda *a, **k: {}
    fe.FeatureExtractorInceptionV3.load_state_dict = lambda self, sd: None
    try:
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    finally:
        fe.load_state_dict_from_url, fe.FeatureExtractorInceptionV3.load_state_dict = real_load, real_sd
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "random-inception.pth"
        torch.save(net.state_dict(), path)
        return InceptionFeatures(path)


def inception_fid_time(space_path: Path, n_images: int, weights: Path | None) -> dict[str, Any]:
    """Generation by a paper-width generator and Inception feature extraction, timed separately."""
    net = InceptionFeatures(weights) if weights is not None else _random_inception()
    space = _space(space_path, {})  # paper width, CIFAR-10 resolution (32 px)
    gen = space.build(space.random_genome(np.random.default_rng(0)), seed=0).generator.eval()
    latent = int_constant(space, "latent_dim")
    t0 = time.perf_counter()
    images = to_uint8(generate(gen, fixed_latents(n_images, latent), batch_size=50))
    t_generate = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer = FrechetScorer(net.num_features)
    for features, _ in extract_features(net, list(images.split(50))):
        scorer.add_fake(features)
        scorer.add_real(features)  # stands in for cached reference statistics (computed once per run)
    t_features = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer.compute()  # the 2048-d Fréchet distance
    t_distance = time.perf_counter() - t0
    per_image = (t_generate + t_features) / n_images
    return {"metric": "FID (Inception-v3, torch-fidelity)", "weights": "real" if weights else "random (timing only)",
            "n_images_timed": n_images, "generate_seconds": t_generate, "inception_seconds": t_features,
            "distance_seconds": t_distance, "generate_images_per_s": n_images / t_generate,
            "inception_images_per_s": n_images / t_features,
            "fid5k_seconds_extrapolated": per_image * 5000 + t_distance}


def save(section: str, result: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data["machine"] = machine()
    data[section] = {**result, "load_average_1m": os.getloadavg()[0]}  # per section: the load changes
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(RESULTS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", type=Path, default=ROOT / "spaces" / "ganhard.nas")
    p.add_argument("--only", nargs="+", choices=["tiny", "paper", "fid", "inception"],
                   default=["tiny", "paper", "fid", "inception"])
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1: one member per core, as the engine runs them on a 2-core machine)")
    p.add_argument("--genomes", type=int, default=3)
    p.add_argument("--tiny-width", type=int, nargs="+", default=[16, 32], help="gf_dim = df_dim of the tiny runs")
    p.add_argument("--paper-genomes", type=int, default=1)
    p.add_argument("--paper-d-batch", type=int, default=8,
                   help="D batch at paper width (the paper's is 40; on a CPU the cost per image hardly depends on it, "
                        "and one 40/80 cycle takes over ten minutes here)")
    p.add_argument("--inception-images", type=int, default=200)
    p.add_argument("--inception-weights", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.space.is_file():
        print(f"no space file {args.space}: the GAN benchmark needs spaces/ganhard.nas (or --space)", file=sys.stderr)
        return 2
    print(f"machine: {json.dumps(machine())}", flush=True)

    if "tiny" in args.only:
        for width in args.tiny_width:
            ov = tiny_set(width)
            print(f"tiny preset: {args.space.name} with {ov}, digits 16 px, D batch 32 / G batch 64", flush=True)
            r = train_throughput(args.space, ov, load_digits(16), 32, iterations=57, genomes=args.genomes)
            print(f"tiny (width {width}): {r['images_per_s']:.1f} images/s (mean over {args.genomes} genomes); one "
                  f"digits epoch = {1797 / r['images_per_s']:.1f} s", flush=True)
            save(f"train_tiny_w{width}", r)
    if "paper" in args.only:
        b = args.paper_d_batch
        print(f"paper width: {args.space.name} defaults, 32 px, D batch {b} / G batch {2 * b}, one 5:1 cycle",
              flush=True)
        r = train_throughput(args.space, {}, synthetic_images(5 * b, 32), b, iterations=5, genomes=args.paper_genomes)
        hours = 50_000 / r["images_per_s"] / 3600
        print(f"paper width: {r['images_per_s']:.2f} images/s; one CIFAR-10 epoch = {hours:.0f} h on this CPU",
              flush=True)
        r["cifar10_epoch_hours"] = hours
        save("train_paper_width", r)
    if "fid" in args.only:
        r = digits_fid_time(args.space, 5000)
        print(f"digits-FID on 5k images: {r['seconds']:.1f} s (classifier trained once in "
              f"{r['classifier_train_seconds_once']:.1f} s, accuracy {r['classifier_accuracy']:.3f})", flush=True)
        save("fid5k_digits", r)
    if "inception" in args.only:
        r = inception_fid_time(args.space, args.inception_images, args.inception_weights)
        print(f"FID-5k at paper width: generation {r['generate_images_per_s']:.2f} img/s, Inception "
              f"{r['inception_images_per_s']:.2f} img/s ({r['weights']} weights, {r['n_images_timed']} images timed), "
              f"distance {r['distance_seconds']:.1f} s -> about {r['fid5k_seconds_extrapolated'] / 60:.0f} min on "
              f"this CPU", flush=True)
        save("fid5k_inception", r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
