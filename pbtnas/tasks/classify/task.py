"""Train a member of any space whose network maps [B, 1, 8, 8] images to [B, 10] logits; fitness = accuracy on
the validation split. Adam's moments are stored by parameter name, so the engine can keep them for the base's
layers and drop them for inherited ones."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from pbtnas.tasks.base import MemberFailed, MemberState
from pbtnas.tasks.classify.data import load_digits_split

__all__ = ["ClassifyOptions", "ClassifyTask"]


class ClassifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: str | None = Field(None, description="network of the space to train (default: the first)")
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    val_fraction: float = Field(0.25, gt=0, lt=1)
    data_seed: int | None = Field(None, description="seed of the train/validation split (default: the run seed)")
    train_limit: int | None = Field(None, ge=1, description="use only this many training images (quick tests)")


def _cpu_state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


class ClassifyTask:
    name: ClassVar[str] = "classify"
    Options: ClassVar[type[BaseModel]] = ClassifyOptions

    def __init__(self, space: Any, options: BaseModel, workdir: Path | None) -> None:
        assert isinstance(options, ClassifyOptions)
        self.space = space
        self.options = options
        self.network = options.network or space.networks[0]
        self.data = load_digits_split(options.data_seed or 0, options.val_fraction, options.train_limit)

    # ------------------------------------------------------------------------------------------------------
    def _model(self, genome: Any, state: MemberState | None) -> nn.Module:
        model: nn.Module = self.space.build(genome, seed=0)
        if state is not None:
            model.load_state_dict(state["model"], strict=True)
        return model

    def _net(self, model: nn.Module) -> nn.Module:
        return getattr(model, self.network)

    def new_member(self, genome: Any, seed: int) -> MemberState:
        model = self.space.build(genome, seed=seed)
        return {"model": _cpu_state(model), "shadows": {}, "optim": {}, "meta": {"epochs": 0, "steps": 0}}

    def _optimizer(self, model: nn.Module, moments: dict[str, dict[str, Tensor]]) -> torch.optim.Adam:
        opt = torch.optim.Adam(model.parameters(), lr=self.options.lr, weight_decay=self.options.weight_decay)
        for name, p in model.named_parameters():
            saved = moments.get(name)
            if saved is not None and saved["exp_avg"].shape == p.shape:
                opt.state[p] = {k: v.clone() for k, v in saved.items()}
        return opt

    def train(
        self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = self._model(genome, state)
        net = self._net(model)
        opt = self._optimizer(model, state["optim"])
        x, y = self.data.x_train, self.data.y_train
        bs = self.options.batch_size
        model.train()
        total, batches, steps = 0.0, 0, int(state["meta"].get("steps", 0))
        for _epoch in range(start_epoch, end_epoch):
            order = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), bs):
                idx = order[i : i + bs]
                if len(idx) < 2:  # BatchNorm cannot train on a single example
                    continue
                loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
                if not torch.isfinite(loss):
                    raise MemberFailed(f"loss became {loss.item()} at epoch {_epoch}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item()
                batches += 1
                steps += 1
        names = {id(p): n for n, p in model.named_parameters()}
        moments = {names[id(p)]: {k: v.detach().clone() for k, v in s.items()} for p, s in opt.state.items()}
        new_state: MemberState = {
            "model": _cpu_state(model),
            "shadows": {},
            "optim": moments,
            "meta": {**state["meta"], "epochs": end_epoch, "steps": steps},
        }
        return new_state, {"train_loss": total / max(1, batches)}

    @torch.no_grad()
    def evaluate(self, state: MemberState, genome: Any, seed: int) -> float:
        model = self._model(genome, state)
        model.eval()
        logits = self._net(model)(self.data.x_val)
        if not torch.isfinite(logits).all():
            return math.nan
        return float((logits.argmax(1) == self.data.y_val).float().mean())

    def final_module(self, state: MemberState, genome: Any) -> nn.Module:
        model = self._model(genome, state)
        model.eval()
        return model
