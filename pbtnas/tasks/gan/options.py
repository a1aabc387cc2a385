"""Options of the GAN task, and the presets ``paper`` and ``tiny``.

``paper`` holds the values of the reference implementation (the authors' configs/main/*.yml and
search/gan/train_gan.py in github.com/AwesomeLemon/PBT-NAS at commit 5a27434; paper §4.2).
``tiny`` is for a 2-core laptop: the 8x8 scikit-learn digits scaled to the space's image size, small batches, few
epochs. ``default`` sets nothing: the field defaults (the paper's hyperparameters, digits data). A preset fills
every field the user did not give, as the RL task's presets do: ``GanOptions(preset="paper", data="stl10",
data_root="~/data")`` has D batch 128 / G batch 256, while adding ``d_batch_size=64`` keeps the user's batch.
``population``, ``epochs`` and ``e_step`` are the engine settings a preset recommends (same names as the RL
task's); the engine reads them, the task does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pbtnas.tasks.presets import with_named_preset

__all__ = ["DEFAULT_D_BATCH", "PRESETS", "GanOptions"]

DatasetName = Literal["digits", "cifar10", "stl10"]

# AdversarialNAS' discriminator batch sizes (the authors' configs: train_batch_size); the generator batch is a
# multiple of it.
DEFAULT_D_BATCH: dict[str, int] = {"cifar10": 40, "stl10": 128, "digits": 32}


class GanOptions(BaseModel):
    """Everything the GAN task can be told. Batch sizes left at None follow the dataset (CIFAR 40, STL 128)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Literal["default", "paper", "tiny"] = "default"

    # data
    data: DatasetName = "digits"
    data_root: Path | None = Field(None, description="folder holding the torchvision dataset folders")
    download: bool = Field(False, description="let torchvision download a missing dataset (needs the internet)")
    verify_checksums: bool = Field(True, description="check the dataset files' MD5 sums against torchvision's")
    image_size: int | None = Field(None, ge=4, description="None: the space's img_size constant")
    max_train_images: int | None = Field(None, ge=1, description="use only the first N training images")

    # training (hinge loss, n_critic D steps per G step, Adam, EMA of G's parameters)
    d_batch_size: int | None = Field(None, ge=1)
    g_batch_multiplier: int = Field(2, ge=1, description="generator batch = this x discriminator batch")
    n_critic: int = Field(5, ge=1)
    lr: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.0, 0.9)
    eps: float = Field(1e-4, gt=0)
    ema_decay: float = Field(0.999, ge=0.0, lt=1.0)

    # evaluation
    fid_images: int = Field(5000, ge=2, description="generated images per fitness evaluation (FID-5k)")
    fid_real_images: int | None = Field(None, ge=2, description="real images for the reference statistics")
    fid_features: Literal["auto", "inception", "classifier"] = Field(
        "auto", description="auto: Inception for cifar10/stl10, a small trained classifier for digits"
    )
    inception_weights: Path | None = Field(None, description="torch-fidelity's Inception weights file (.pth)")
    cache_dir: Path | None = Field(None, description="classifier and reference statistics; None: <workdir>/cache")
    eval_batch_size: int = Field(250, ge=1)

    # execution
    device: Literal["auto", "cpu", "cuda"] = "auto"
    torch_threads: int | None = Field(None, ge=1, description="torch.set_num_threads inside the task's process")

    # engine settings recommended by the preset (not used by the task)
    population: int = Field(24, ge=2)
    epochs: int = Field(300, ge=1, description="total training epochs per member")
    e_step: int = Field(10, ge=1, description="epochs between selection steps")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        return with_named_preset(data, PRESETS, "GAN")

    @model_validator(mode="after")
    def _check(self) -> GanOptions:
        if self.fid_features == "inception" and self.data == "digits":
            raise ValueError("Inception features need 3-channel natural images; use fid_features='classifier' "
                             "(digits-FID) for the digits data")
        return self

    @property
    def d_batch(self) -> int:
        return self.d_batch_size if self.d_batch_size is not None else DEFAULT_D_BATCH[self.data]

    @property
    def g_batch(self) -> int:
        return self.d_batch * self.g_batch_multiplier

    @property
    def feature_kind(self) -> Literal["inception", "classifier"]:
        if self.fid_features != "auto":
            return self.fid_features
        return "classifier" if self.data == "digits" else "inception"

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GanOptions:
        """The preset ``name`` with ``overrides`` applied on top (validated as a whole)."""
        return cls.model_validate({**overrides, "preset": name})


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # The reference implementation's values; data defaults to CIFAR-10 (D 40 / G 80), STL-10 gets 128 / 256.
    "paper": {
        "data": "cifar10",
        "g_batch_multiplier": 2,
        "n_critic": 5,
        "lr": 2e-4,
        "betas": (0.0, 0.9),
        "eps": 1e-4,
        "ema_decay": 0.999,
        "fid_images": 5000,
        "population": 24,
        "epochs": 300,
        "e_step": 10,
    },
    # A 2-core laptop: 1,797 digits, batch 32 -> 57 D / 12 G steps per epoch, so a member gets ~100 G steps in
    # the whole run. Two departures from the paper, both measured on GanHard at width 16 (8 epochs, 2 genomes):
    # - lr 1e-3: with lr 2e-4 the generator is still a colour blur after 8 epochs (digits-FID ~800-1100); with 1e-3
    #   digit shapes appear (digits-FID ~250).
    # - EMA decay 0.9: 0.999 would keep the EMA at the initial weights for the whole run; 0.9 leaves about the same
    #   share of the old average after a selection step (0.9^24 ~ 0.08) as the paper's 0.999 over 10 CIFAR
    #   epochs (0.999^2500 ~ 0.08).
    "tiny": {
        "data": "digits",
        "d_batch_size": 32,
        "g_batch_multiplier": 2,
        "n_critic": 5,
        "lr": 1e-3,
        "betas": (0.0, 0.9),
        "eps": 1e-4,
        "ema_decay": 0.9,
        "fid_images": 1000,
        "eval_batch_size": 200,
        "population": 8,
        "epochs": 8,
        "e_step": 2,
    },
}
