"""Options of the classify task, and its presets (``tiny``: digits on a laptop; ``mnist1d``: MNIST-1D, the embedded
data set where the architecture matters).

Every field has the same name in ``--task-option KEY=VALUE``, in ``[task_options]`` of a TOML config and in
``pbtnas.search(task_options=...)``; ``data``, ``data_root``, ``download`` and ``preset`` are also options of
``pbtnas search``. The defaults are the task's behaviour before it read other data (digits, Adam 1e-3, batch 64,
no augmentation, no normalisation), so a digits run computes what it always computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pbtnas.tasks.presets import with_named_preset

__all__ = ["FILE_KINDS", "PRESETS", "ClassifyOptions"]

FILE_KINDS = ("npz", "csv", "imagefolder")  # `--data KIND:PATH`, a file or folder of the user's


class ClassifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: Literal["default", "tiny", "mnist1d"] = "default"
    network: str | None = Field(None, description="network of the space to train (default: the first)")

    # data (pbtnas/tasks/classify/sources.py lists the sources)
    data: str = Field("digits", description="digits | mnist1d | mnist | fashion_mnist | cifar10 | cifar100 | svhn | "
                                            "npz:PATH | csv:PATH | imagefolder:PATH")
    data_root: Path | None = Field(None, description="folder holding torchvision's dataset folders")
    download: bool = Field(False, description="let torchvision download a missing data set (needs the internet)")
    verify_checksums: bool = Field(True, description="check CIFAR/SVHN files against torchvision's MD5 sums")
    label_column: str = Field("label", description="csv: the column holding the class")
    image_size: int | None = Field(None, ge=1, description="imagefolder: resize every image to this square size")
    val_fraction: float = Field(0.25, gt=0, lt=1, description="held out of the training data when it has no "
                                                              "validation split (seeded, stratified)")
    test_fraction: float = Field(0.0, ge=0, lt=1, description="held out as the test split when the data has none "
                                                              "(0: no test split)")
    data_seed: int | None = Field(None, description="seed of the held-out splits (default: the run seed)")
    train_limit: int | None = Field(None, ge=1, description="use only this many training samples (quick tests)")
    epoch_samples: int | None = Field(None, ge=2, description="train each epoch on this many samples drawn from "
                                                              "the training split (quick trials)")
    num_workers: int = Field(0, ge=0, description="processes decoding image files (imagefolder) while loading")

    # inputs
    normalize: bool = Field(False, description="standardise every channel (statistics of the training split "
                                               "unless mean and std are given)")
    mean: list[float] | None = Field(None, description="per-channel mean for normalisation (with std)")
    std: list[float] | None = Field(None, description="per-channel standard deviation for normalisation")
    augment: bool = Field(False, description="images: random crop with padding and horizontal flip while training")
    crop_padding: int = Field(4, ge=0, description="augment: zero padding of the random crop")
    flip: bool = Field(True, description="augment: random horizontal flips (off for digits or text-like images)")

    # training
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd: momentum")
    weight_decay: float = Field(0.0, ge=0)
    schedule: Literal["constant", "cosine"] = Field("constant", description="learning rate over the run's epochs")
    device: Literal["auto", "cpu", "cuda"] = "auto"

    run_epochs: int | None = Field(None, ge=1, description="length of the cosine schedule (default: the run's "
                                                           "epochs, filled in by the engine)")

    # engine settings recommended by a preset (the engine reads them, the task does not)
    population: int | None = Field(None, ge=1)
    epochs: int | None = Field(None, ge=1)
    e_step: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        return with_named_preset(data, PRESETS, "classify")

    @field_validator("data_root")
    @classmethod
    def _absolute_root(cls, v: Path | None) -> Path | None:
        # made absolute where the user wrote it (the driver): a Ray worker may run in another folder
        return None if v is None else v.expanduser().absolute()

    @field_validator("data")
    @classmethod
    def _absolute_file(cls, v: str) -> str:
        kind, sep, path = v.partition(":")
        if sep and kind in FILE_KINDS and path.strip():
            return f"{kind}:{Path(path).expanduser().absolute()}"
        return v

    @model_validator(mode="after")
    def _check(self) -> ClassifyOptions:
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std (one value per channel), or neither")
        if self.std is not None and any(s <= 0 for s in self.std):
            raise ValueError("std values must be positive")
        if self.mean is not None and len(self.mean) != len(self.std or ()):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std or ())}")
        return self


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # configs/tiny/digits: 600 training digits, 8 members, 8 epochs
    "tiny": {"data": "digits", "train_limit": 600, "population": 8, "epochs": 8, "e_step": 2},
    # MNIST-1D (4,000 training sequences, 1,000 validation held out): batch 100 and Adam 1e-2 with a cosine
    # schedule, the settings of the MNIST-1D paper's own CNN baseline (Greydanus 2020: lr 1e-2, batch 100)
    "mnist1d": {"data": "mnist1d", "batch_size": 100, "lr": 1e-2, "schedule": "cosine", "population": 8,
                "epochs": 12, "e_step": 2},
}
