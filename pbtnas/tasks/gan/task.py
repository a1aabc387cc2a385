"""``GanTask``: the GAN task behind ``pbtnas search --task gan`` (docs/contracts.md, "Task" and "Member state").

A member's state:

- ``model``: the space model's state dict (``generator.…`` and ``discriminator.…``).
- ``shadows["ema"]``: the EMA of every generator *parameter*, keyed like the model (``generator.…``). BatchNorm
  buffers are not averaged (as the authors' train_gan.py): evaluation uses the EMA parameters with the training BN
  statistics.
  A generator parameter missing from the shadow (a layer that a mutation created) starts its average at the
  parameter's current value.
- ``optim``: Adam moments of both optimizers, keyed by parameter name (pbtnas.tasks.optim_state).
- ``meta``: ``epochs_done``, ``d_steps``, ``g_steps``, and the name of the fitness metric.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import Tensor, nn

from pbtnas.tasks.base import MemberFailed, MemberState
from pbtnas.tasks.gan.data import ImageData, check_dataset_files, load_dataset
from pbtnas.tasks.gan.metrics import (
    FeatureNet,
    InceptionFeatures,
    ReferenceStats,
    inception_weights_path,
    load_or_train_classifier,
    reference_stats,
)
from pbtnas.tasks.gan.options import GanOptions
from pbtnas.tasks.gan.outputs import GanScores, evaluate_generator, fid_of_generator, grid_png, save_grid
from pbtnas.tasks.gan.training import LoopConfig, run_epochs
from pbtnas.tasks.optim_state import load_named_state, named_state

__all__ = ["GanTask", "int_constant"]


def _cpu(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}


def int_constant(space: Any, name: str) -> int:
    constants = getattr(space, "constants", {}) or {}
    if name not in constants:
        raise ValueError(f"the GAN task needs the constant {name!r} in space {getattr(space, 'name', '?')!r} "
                         f"(it has: {', '.join(sorted(constants)) or 'none'})")
    value = constants[name]
    if hasattr(value, "int_value"):  # a derived constant the compiler keeps as a (constant) symbolic dimension
        value = value.int_value()
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"the constant {name!r} of space {getattr(space, 'name', '?')!r} must be an integer, "
                         f"got {value!r}") from None


class GanTask:
    """Hinge-loss GAN training of a space's ``generator`` / ``discriminator``; fitness = −FID of the EMA generator."""

    name: ClassVar[str] = "gan"
    Options: ClassVar[type[BaseModel]] = GanOptions

    def __init__(self, space: Any, options: BaseModel | dict[str, Any] | None = None,
                 workdir: Path | None = None) -> None:
        if options is None:
            options = GanOptions()
        elif not isinstance(options, GanOptions):
            options = GanOptions.model_validate(options.model_dump() if isinstance(options, BaseModel) else options)
        self.space = space
        self.options: GanOptions = options
        self.workdir = Path(workdir) if workdir is not None else None
        if options.torch_threads is not None:
            torch.set_num_threads(options.torch_threads)
        if set(getattr(space, "networks", ("generator", "discriminator"))) != {"generator", "discriminator"}:
            raise ValueError(f"the GAN task needs a space with networks generator and discriminator, "
                             f"space {getattr(space, 'name', '?')!r} has {space.networks}")
        self.latent_dim = int_constant(space, "latent_dim")
        self.image_size = options.image_size or int_constant(space, "img_size")
        if options.device == "auto":
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(options.device)
        self.cache_dir = options.cache_dir or (self.workdir / "cache" if self.workdir is not None else None)
        if options.feature_kind == "inception":
            inception_weights_path(options.inception_weights)  # fail now, not after the first training round
        constants = getattr(space, "constants", {}) or {}
        self.channels = int_constant(space, "img_channels") if "img_channels" in constants else 3
        if self.channels not in (1, 3):
            raise ValueError(f"the GAN task's images have 1 or 3 channels; space {getattr(space, 'name', '?')!r} "
                             f"sets img_channels = {self.channels}")
        # ``data`` (3 channels) feeds the FID classifier and reference statistics; ``train_data`` the networks.
        self.data: ImageData = load_dataset(options.data, self.image_size, options.data_root, options.download,
                                            options.verify_checksums, options.max_train_images)
        self.train_data: ImageData = self.data.grey() if self.channels == 1 else self.data
        self.loop = LoopConfig(latent_dim=self.latent_dim, d_batch=options.d_batch, g_batch=options.g_batch,
                               n_critic=options.n_critic, ema_decay=options.ema_decay)
        self._feature_net: FeatureNet | None = None
        self._reference: ReferenceStats | None = None

    # ------------------------------------------------------------------------------------------ members

    def _model(self, genome: Any, weights: dict[str, Tensor] | None, seed: int = 0) -> nn.Module:
        model = self.space.build(genome, seed=seed)
        if weights is not None:
            model.load_state_dict(weights, strict=True)
        return model.to(self.device)

    @staticmethod
    def _generator_params(model: nn.Module) -> dict[str, Tensor]:
        return {f"generator.{n}": p.detach().clone() for n, p in model.generator.named_parameters()}

    def new_member(self, genome: Any, seed: int) -> MemberState:
        model = self.space.build(genome, seed=seed)
        return {
            "model": _cpu(model.state_dict()),
            "shadows": {"ema": _cpu(self._generator_params(model))},
            "optim": {},
            "meta": {"epochs_done": 0, "d_steps": 0, "g_steps": 0, "fitness_metric": f"-{self.fid_name}"},
        }

    def _optimizers(self, model: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        o = self.options
        kw = {"lr": o.lr, "betas": tuple(o.betas), "eps": o.eps}
        g = [p for p in model.generator.parameters() if p.requires_grad]
        d = [p for p in model.discriminator.parameters() if p.requires_grad]
        return torch.optim.Adam(g, **kw), torch.optim.Adam(d, **kw)

    def train(self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int,
              seed: int) -> tuple[MemberState, dict[str, float]]:
        if end_epoch <= start_epoch:
            raise ValueError(f"train: empty epoch range [{start_epoch}, {end_epoch})")
        model = self._model(genome, state["model"])
        opt_g, opt_d = self._optimizers(model)
        named = list(model.named_parameters())
        load_named_state(opt_g, named, state["optim"])
        load_named_state(opt_d, named, state["optim"])

        ema_in = state["shadows"].get("ema", {})
        ema: dict[str, Tensor] = {}
        for key, p in self._generator_params(model).items():
            shadow = ema_in.get(key)
            if shadow is not None and shadow.shape != p.shape:
                raise ValueError(f"EMA shadow {key!r} has shape {tuple(shadow.shape)}, the parameter "
                                 f"{tuple(p.shape)}: the shadow belongs to another network")
            ema[key] = (shadow.to(self.device, dtype=p.dtype, copy=True) if shadow is not None else p)

        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # run_epochs seeds the global RNG (dropout) per epoch
            stats = run_epochs(model, opt_g, opt_d, ema, self.train_data, self.loop, start_epoch, end_epoch, seed,
                               self.device)
        if stats.nonfinite:
            raise MemberFailed(f"GAN training diverged ({'; '.join(stats.nonfinite)})")

        meta = dict(state.get("meta", {}))
        meta.update({
            "epochs_done": end_epoch,
            "d_steps": int(meta.get("d_steps", 0)) + stats.d_steps,
            "g_steps": int(meta.get("g_steps", 0)) + stats.g_steps,
            "fitness_metric": f"-{self.fid_name}",
        })
        new_state: MemberState = {
            "model": _cpu(model.state_dict()),
            "shadows": {**state["shadows"], "ema": _cpu(ema)},
            "optim": {**named_state(opt_g, named), **named_state(opt_d, named)},
            "meta": meta,
        }
        return new_state, stats.metrics()

    @staticmethod
    def preflight(options: GanOptions, space: Any = None) -> None:
        """Checks the engine runs in the driver before any worker starts: a missing dataset or Inception file is
        then one clear message, not a failure inside every Ray actor."""
        if options.feature_kind == "inception":
            inception_weights_path(options.inception_weights)
        if options.data in ("cifar10", "stl10") and not options.download:
            check_dataset_files(options.data, options.data_root, options.verify_checksums)

    def final_module(self, state: MemberState, genome: Any) -> nn.Module:
        """The whole model (generator and discriminator) with the generator's EMA parameters in place and the
        training BatchNorm statistics, in eval mode: what `pbtnas.load(run)` returns; `.generator` makes images."""
        weights = {**state["model"], **state["shadows"].get("ema", {})}
        return self._model(genome, weights).eval().requires_grad_(False)

    def final_generator(self, state: MemberState, genome: Any) -> nn.Module:
        return self.final_module(state, genome).generator

    # --------------------------------------------------------------------------------------------- metrics

    @property
    def fid_name(self) -> str:
        """ "FID" (Inception) or "<dataset>-FID" (the small classifier) — without building the network."""
        return "FID" if self.options.feature_kind == "inception" else f"{self.data.name}-FID"

    def feature_net(self) -> FeatureNet:
        if self._feature_net is None:
            if self.options.feature_kind == "inception":
                self._feature_net = InceptionFeatures(self.options.inception_weights)
            else:
                self._feature_net = load_or_train_classifier(self.data, self.cache_dir)
        return self._feature_net

    def reference(self) -> ReferenceStats:
        if self._reference is None:
            self._reference = reference_stats(self.feature_net(), self.data, self.options.fid_real_images,
                                              self.cache_dir, self.options.eval_batch_size, self.device)
        return self._reference

    def fid(self, generator: nn.Module, n_images: int, seed: int = 0) -> float:
        return fid_of_generator(generator, self.feature_net(), self.reference(), self.latent_dim, n_images, seed,
                                self.options.eval_batch_size)

    def evaluate(self, state: MemberState, genome: Any, seed: int) -> float:
        """−FID on ``fid_images`` generated images against the training split (non-finite if it diverged)."""
        value = self.fid(self.final_generator(state, genome), self.options.fid_images, seed)
        return -value if math.isfinite(value) else float("-inf")

    # --------------------------------------------------------------------------------------------- outputs

    def save_samples(self, state: MemberState, genome: Any, path: Path | str, grid: tuple[int, int] = (6, 6),
                     seed: int = 0) -> Path:
        """The member's EMA generator on the fixed latent batch (seed 0): call it per step for every member."""
        return save_grid(self.final_generator(state, genome), path, self.latent_dim, grid, seed)

    def after_step(self, state: MemberState, genome: Any, uid: int, epoch: int) -> dict[str, bytes]:
        """Called by the engine after each step: member `uid`'s grid from the fixed latent batch, so a person can
        watch the population improve. Returned, not written: the engine carries the bytes back through Ray and the
        driver writes RUN/workdirs/generated/member_<uid>/epoch_<epoch>.png (workers need no shared filesystem)."""
        png = grid_png(self.final_generator(state, genome), self.latent_dim, (6, 6), 0)
        return {f"generated/member_{uid:04d}/epoch_{epoch:04d}.png": png}

    def final_scores(self, state: MemberState, genome: Any, n_images: int = 50_000, splits: int = 10,
                     seed: int = 0) -> GanScores:
        """FID-N and IS (mean ± std over ``splits``) of the member's EMA generator."""
        return self.generator_scores(self.final_generator(state, genome), n_images, splits, seed)

    def generator_scores(self, generator: nn.Module, n_images: int = 50_000, splits: int = 10,
                         seed: int = 0) -> GanScores:
        """FID-N and IS of a generator module (``pbtnas evaluate`` on a saved best network)."""
        return evaluate_generator(generator.to(self.device), self.feature_net(), self.reference(),
                                  self.latent_dim, n_images, splits, seed, self.options.eval_batch_size)
