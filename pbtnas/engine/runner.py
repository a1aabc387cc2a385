"""What a worker does to members: the task plus the engine's weight operations, in one long-lived object.

``MemberRunner`` is plain Python (tests drive it in-process); ``pbtnas.engine.execution`` runs it as a Ray actor.
It receives the space as its JSON artifact and the task as a name plus an options dict, and exchanges members as
``MemberState`` dicts of tensors: nothing of this package is ever pickled between processes.
"""

from __future__ import annotations

import importlib
import math
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from pbtnas.engine.mixing import close_over_links, mix_states, replace_layers
from pbtnas.engine.mutation import searl_mutate_state
from pbtnas.engine.raycluster import current_node_id
from pbtnas.engine.statedict import ShrinkPerturb, renormalize_sn, shrink_perturb_tensor
from pbtnas.tasks.base import MemberFailed, MemberState
from pbtnas.tasks.registry import get_task

__all__ = ["MemberRunner", "UntrustedLoader", "import_object", "load_space", "register_space_loader"]


# The space classes a run directory may name in its space.json "loader". A run directory is data someone may have
# handed you: importing whatever module it names would run that module's code, so only these (and the classes a
# program registers itself with ``register_space_loader``) are ever imported from it.
BUILTIN_SPACE_LOADERS: frozenset[str] = frozenset({"pbtnas.compiler.space:CompiledSpace"})
_registered_loaders: set[str] = set()


class UntrustedLoader(ValueError):
    """A space loader that is neither pbtnas's own nor registered by the running program."""


def loader_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register_space_loader(cls: type) -> str:
    """Allow run directories to name ``cls`` as their space loader (a program using its own space class calls
    this before ``pbtnas.load`` or ``pbtnas search --resume``). Returns the ``module:Class`` string."""
    if not (isinstance(cls, type) and callable(getattr(cls, "from_json", None))):
        raise TypeError(f"{cls!r} is not a space class (a class with a from_json classmethod)")
    name = loader_name(cls)
    _registered_loaders.add(name)
    return name


def allowed_space_loaders() -> frozenset[str]:
    return BUILTIN_SPACE_LOADERS | _registered_loaders


def import_object(spec: str) -> Any:
    """``"package.module:Name"`` -> the object. Callers decide whether ``spec`` may be imported; ``load_space``
    is the checked entry point for strings read from files."""
    module_name, _, name = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def load_space(loader: str, space_json: str, also_allowed: frozenset[str] = frozenset()) -> Any:
    """The space of a ``space.json``-style (loader, artifact) pair; ``loader`` must be on the allowlist (plus
    ``also_allowed``, which only callers holding a live space object of that class pass)."""
    if not isinstance(loader, str) or loader not in allowed_space_loaders() | also_allowed:
        known = ", ".join(sorted(allowed_space_loaders()))
        raise UntrustedLoader(
            f"refusing space loader {loader!r}: pbtnas only imports its own space classes ({known}) or classes "
            "registered with pbtnas.engine.runner.register_space_loader"
        )
    return import_object(loader).from_json(space_json)


class MemberRunner:
    def __init__(
        self,
        space_loader: str | None = None,
        space_json: str | None = None,
        task_name: str | None = None,
        task_options: dict[str, Any] | None = None,
        workdir: str | None = None,
        threads: int = 1,
        plugins: list[str] | None = None,
    ) -> None:
        """With a space and task options the runner is ready; with only ``task_name`` it pays the imports (torch,
        the task's module, the compiler stack) and waits for ``configure``: the pool starts actors that way while
        the driver is still compiling the space (``ActorPool(..., runner_kwargs=None)``)."""
        torch.set_num_threads(max(1, threads))
        # The first optimizer a process builds imports torch's compiler stack (torch._dynamo, 0.87 s on the idle 2-core
        # test machine). A throw-away optimizer here pays it while the pool starts, in parallel, instead of inside one
        # member's first step, where it would also mislead the longest-first schedule about that member's cost.
        # (Importing torch._dynamo directly instead hung the constructor of actors started right after a Ray Tune run
        # in the same Ray session, `benchmarks/vs_tune.py --order tune-first`; the optimizer's own path did not.)
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        if task_name is not None:
            get_task(task_name)  # the task's module and what it imports (the classify task: scikit-learn)
        if space_loader is not None and space_json is not None and task_name is not None:
            self.configure(space_loader, space_json, task_name, task_options or {}, workdir, plugins)

    def configure(
        self,
        space_loader: str,
        space_json: str,
        task_name: str,
        task_options: dict[str, Any],
        workdir: str | None = None,
        plugins: list[str] | None = None,
    ) -> None:
        from pbtnas.compiler.commands import load_plugins

        load_plugins(plugins)  # the driver imported them for the space it sends: its ops must exist here too
        # The driver sends the loader of the space object it holds (built in its process, or read from a run
        # directory through the checked load_space), so a worker accepts that one class.
        self.space = load_space(space_loader, space_json, also_allowed=frozenset({space_loader}))
        task_cls = get_task(task_name)
        options = task_cls.Options.model_validate(task_options)
        self.task = task_cls(self.space, options, Path(workdir) if workdir else None)

    def ping(self) -> int:
        import os

        return os.getpid()

    def cpu_kernels(self) -> str:
        """The CPU kernel level torch runs here (``AVX2`` where pbtnas.engine.kernels pinned it)."""
        return str(torch.backends.cpu.get_cpu_capability())

    def _genome(self, values: tuple[int, ...] | list[int]) -> Any:
        return self.space.validate(list(values))

    def _fresh(self, values: tuple[int, ...] | list[int], seed: int) -> dict[str, Tensor]:
        return {k: v.detach().cpu() for k, v in self.space.build(self._genome(values), seed=seed).state_dict().items()}

    # lifecycle -----------------------------------------------------------------------------------------------
    def new_member(self, values: list[int], seed: int) -> MemberState:
        return self.task.new_member(self._genome(values), seed)

    def train_eval(
        self, state: MemberState, values: list[int], start: int, end: int, train_seed: int, eval_seed: int,
        uid: int | None = None,
    ) -> tuple[MemberState, dict[str, Any]]:
        """Train [start, end) and evaluate. A failure returns the input state and a report saying why."""
        genome = self._genome(values)
        report: dict[str, Any] = {"failed": False, "error": None, "metrics": {}, "fitness": float("nan")}
        t0 = time.perf_counter()
        try:
            new_state, metrics = self.task.train(state, genome, start, end, train_seed)
            t1 = time.perf_counter()
            fitness = float(self.task.evaluate(new_state, genome, eval_seed))
            t2 = time.perf_counter()
        except MemberFailed as err:
            report.update(failed=True, error=f"MemberFailed: {err}", train_seconds=time.perf_counter() - t0)
            return state, report
        except Exception as err:  # a member's crash must not stop the run; the driver logs the traceback
            report.update(
                failed=True,
                error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}",
                train_seconds=time.perf_counter() - t0,
            )
            return state, report
        report.update(
            fitness=fitness,
            metrics={k: float(v) for k, v in metrics.items()},
            train_seconds=t1 - t0,
            eval_seconds=t2 - t1,
        )
        if not math.isfinite(fitness):
            report.update(failed=True, error=f"non-finite fitness {fitness}")
        elif uid is not None and hasattr(self.task, "after_step"):
            try:  # per-step outputs (a GAN's image grid): useful to watch, never a reason to fail a member
                files = self.task.after_step(new_state, genome, uid, end)
                if isinstance(files, Mapping) and files:  # relative path -> bytes, written by the driver
                    report["files"] = {str(k): bytes(v) for k, v in files.items()}
            except Exception as err:
                report["after_step_error"] = f"{type(err).__name__}: {err}"
        report["node"] = current_node_id()  # where the step ran (a cluster's report shows the spread)
        return new_state, report

    def close_task(self) -> None:
        """Free what the task holds beyond this run's steps (the RL replay stores), once the run has finished."""
        close = getattr(self.task, "close", None)
        if close is not None:
            close()

    def evaluate(self, state: MemberState, values: list[int], seed: int) -> float:
        return float(self.task.evaluate(state, self._genome(values), seed))

    def final_state(self, state: MemberState, values: list[int]) -> dict[str, Tensor]:
        module = self.task.final_module(state, self._genome(values))
        return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

    # variation -----------------------------------------------------------------------------------------------
    def make_child(
        self,
        base: MemberState,
        donor: MemberState,
        inherited: list[int],
        child_values: list[int],
        shrink_perturb: tuple[float, float],
        seed: int,
    ) -> MemberState:
        fresh = self._fresh(child_values, seed)
        return mix_states(self.space, base, donor, fresh, inherited, ShrinkPerturb(*shrink_perturb))

    def mutate(
        self, base: MemberState, kind: str, gene: int | None, child_values: list[int], seed: int
    ) -> MemberState:
        if kind == "copy":
            return base
        if kind == "weights":
            return searl_mutate_state(base, seed, self._shadows_in_model())
        assert gene is not None
        # A gene linked to others (a conv's kernel and its channels) shapes layers their group owns: those layers
        # are the ones the new value changes, so all of them are drawn afresh
        linked = close_over_links(self.space.genes, [gene])
        return replace_layers(self.space, base, self._fresh(child_values, seed), linked)

    def _shadows_in_model(self) -> tuple[str, ...]:
        # Shadows that whole-model weight operations treat as part of the model (Task.shadows_in_model).
        return tuple(getattr(self.task, "shadows_in_model", ()) or ())

    def perturb_all(
        self, state: MemberState, values: list[int], shrink_perturb: tuple[float, float], seed: int
    ) -> MemberState:
        """Random search + shrink-perturb (the authors' ``shrink_perturb_always``): the whole model against a fresh
        network of its own genome, and so are the shadows the task keeps as part of the model (the RL target
        critic, against the fresh critic: a fresh agent's target is a copy of its critic); other shadows (a GAN's
        EMA generator) and optimizer moments are kept."""
        fresh = self._fresh(values, seed)
        sp = ShrinkPerturb(*shrink_perturb)
        model = {k: shrink_perturb_tensor(v, fresh[k], sp) for k, v in state["model"].items()}
        renormalize_sn(model)
        shadows = dict(state["shadows"])
        for name in self._shadows_in_model():
            if name in shadows:
                shadow = {k: shrink_perturb_tensor(v, fresh[k], sp) for k, v in shadows[name].items()}
                renormalize_sn(shadow)
                shadows[name] = shadow
        return {**state, "model": model, "shadows": shadows}
