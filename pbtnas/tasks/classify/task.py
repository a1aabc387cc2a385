"""Train a member of any space whose network maps a batch of samples to one score per class; fitness = accuracy
on the validation split. The data comes from ``--data`` (pbtnas/tasks/classify/sources.py), loaded once in the
worker that trains; the driver's ``preflight`` reads only its sample shape and class count. Optimizer moments are
stored by parameter name, so the engine can keep them for the base's layers and drop them for inherited ones."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import Tensor, nn

from pbtnas.tasks.base import MemberFailed, MemberState
from pbtnas.tasks.classify.data import ClassifyData, load_data
from pbtnas.tasks.classify.inputs import InputPipeline
from pbtnas.tasks.classify.options import ClassifyOptions
from pbtnas.tasks.optim_state import load_named_state, named_state

__all__ = ["ClassifyOptions", "ClassifyTask"]

EVAL_BATCH = 1024  # samples per forward pass in evaluation (the whole split of small data sets)


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
        self.data: ClassifyData = load_data(options)
        self.inputs = InputPipeline.of(options, self.data.x_train)
        if options.device == "auto":
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(options.device)

    @staticmethod
    def preflight(options: ClassifyOptions, space: Any = None) -> None:
        """In the driver, before Ray starts: the data exists and is readable, and the network fits it."""
        from pbtnas.tasks.classify.preflight import check_space_fits
        from pbtnas.tasks.classify.sources import source_info

        info = source_info(options)
        # a space class of the user's own (register_space_loader) may declare no shapes: then only the data is checked
        if space is not None and isinstance(getattr(space, "artifact", None), dict):
            check_space_fits(space, options.network or space.networks[0], info)

    # ------------------------------------------------------------------------------------------------------
    def _model(self, genome: Any, state: MemberState | None) -> nn.Module:
        model: nn.Module = self.space.build(genome, seed=0)
        if state is not None:
            model.load_state_dict(state["model"], strict=True)
        return model.to(self.device)

    def _net(self, model: nn.Module) -> nn.Module:
        return getattr(model, self.network)

    def new_member(self, genome: Any, seed: int) -> MemberState:
        model = self.space.build(genome, seed=seed)
        return {"model": _cpu_state(model), "shadows": {}, "optim": {}, "meta": {"epochs": 0, "steps": 0}}

    def _optimizer(self, model: nn.Module, moments: dict[str, dict[str, Tensor]]) -> torch.optim.Optimizer:
        o = self.options
        params = model.parameters()
        opt: torch.optim.Optimizer
        if o.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
        elif o.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        load_named_state(opt, model.named_parameters(), moments)
        return opt

    def learning_rate(self, epoch: int) -> float:
        """The rate of ``epoch`` (0-based): constant, or cosine from ``lr`` to 0 over the run's epochs."""
        o = self.options
        if o.schedule == "constant":
            return o.lr
        total = o.run_epochs or o.epochs or 1
        return o.lr * 0.5 * (1.0 + math.cos(math.pi * min(epoch, total) / total))

    def train(
        self, state: MemberState, genome: Any, start_epoch: int, end_epoch: int, seed: int
    ) -> tuple[MemberState, dict[str, float]]:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = self._model(genome, state)
        net = self._net(model)
        opt = self._optimizer(model, state["optim"])
        x, y = self.data.x_train, self.data.y_train
        bs, limit = self.options.batch_size, self.options.epoch_samples
        model.train()
        total, batches, steps = 0.0, 0, int(state["meta"].get("steps", 0))
        for epoch in range(start_epoch, end_epoch):
            for group in opt.param_groups:
                group["lr"] = self.learning_rate(epoch)
            order = torch.randperm(len(x), generator=gen)[:limit]
            for i in range(0, len(order), bs):
                idx = order[i : i + bs]
                if len(idx) < 2:  # BatchNorm cannot train on a single example
                    continue
                batch = self.inputs(x[idx], training=True, generator=gen).to(self.device)
                loss = nn.functional.cross_entropy(net(batch), y[idx].to(self.device))
                if not torch.isfinite(loss):
                    raise MemberFailed(f"loss became {loss.item()} at epoch {epoch}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item()
                batches += 1
                steps += 1
        new_state: MemberState = {
            "model": _cpu_state(model),
            "shadows": {},
            "optim": named_state(opt, model.named_parameters()),
            "meta": {**state["meta"], "epochs": end_epoch, "steps": steps},
        }
        return new_state, {"train_loss": total / max(1, batches)}

    @torch.no_grad()
    def predict(self, state: MemberState, genome: Any, x: Tensor) -> Tensor:
        """Class scores [N, classes] of samples ``x`` (eval mode, on the CPU)."""
        model = self._model(genome, state)
        model.eval()
        net = self._net(model)
        parts = [net(self.inputs(x[i : i + EVAL_BATCH], training=False).to(self.device)).float().cpu()
                 for i in range(0, len(x), EVAL_BATCH)]
        return torch.cat(parts)

    def evaluate(self, state: MemberState, genome: Any, seed: int) -> float:
        logits = self.predict(state, genome, self.data.x_val)
        if not torch.isfinite(logits).all():
            return math.nan
        return float((logits.argmax(1) == self.data.y_val).float().mean())

    def final_module(self, state: MemberState, genome: Any) -> nn.Module:
        model = self._model(genome, state).cpu()
        model.eval()
        return model
