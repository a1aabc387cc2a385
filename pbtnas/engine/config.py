"""The configuration of a search: one pydantic model, filled from ``--config run.toml`` and/or command-line
options (every option exists in both; command-line values win), validated once at the boundary."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pbtnas.engine.schedule import StepRule, plan_steps
from pbtnas.engine.statedict import ShrinkPerturb
from pbtnas.errors import UserError

__all__ = ["EXECUTION_OPTIONS", "ConfigError", "SearchConfig", "StepRuleConfig", "load_config_file"]

Algorithm = Literal["pbtnas", "random", "mutation"]

# Options that do not change what a run computes; a resumed run may set them anew.
EXECUTION_OPTIONS = frozenset({"address", "ray_bind", "workers", "cpus_per_member", "gpus_per_member", "max_retries",
                               "progress", "tensorboard", "overlap_steps"})


class ConfigError(UserError, ValueError):
    """A configuration a user wrote wrong; the message says what and where."""


class StepRuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until_epoch: int = Field(gt=0)
    step: int = Field(gt=0)


class SearchConfig(BaseModel):
    """Everything that defines a search. The execution options (address, workers, resources) do not change the
    result, so a resumed run may change them."""

    model_config = ConfigDict(extra="forbid")

    space: str = Field(description="path of the .nas file (or a compiled space .json artifact)")
    overrides: dict[str, str] = Field(default_factory=dict, description="constants of the space (--set NAME=VALUE)")
    plugins: list[str] = Field(default_factory=list, description="modules that register extra ops (--plugin), "
                                                                 "imported before compiling, in every worker too")
    task: str = "classify"
    task_options: dict[str, Any] = Field(default_factory=dict)
    algorithm: Algorithm = "pbtnas"
    population: int = Field(8, ge=1)
    epochs: int = Field(20, ge=1)
    step: int = Field(2, ge=1, description="e_step: epochs between two selections")
    step_schedule: list[StepRuleConfig] = Field(default_factory=list)
    seed: int = Field(0, ge=0)
    tau: float = Field(0.25, gt=0, le=0.5, description="fraction replaced and fraction used as parents")
    mix_probability: float = Field(0.25, ge=0, le=1, description="per-gene probability of taking the donor's layer")
    shrink_perturb: tuple[float, float] | None = Field(
        None, description="(lambda, gamma); default (0.4, 0.1) for pbtnas, none for random search"
    )
    mix_with_self: bool = False
    max_params: int | None = Field(None, gt=0, description="every member has at most this many parameters")
    max_flops: int | None = Field(None, gt=0, description="every member has at most this many multiply-adds per "
                                                           "sample (FLOPs, at the space's input shapes)")
    out: str | None = None
    # execution
    address: str | None = None
    ray_bind: Literal["loopback", "all"] = Field(
        "loopback", description="a local Ray's servers on 127.0.0.1 only, or on every interface (all)"
    )
    workers: int | None = Field(None, ge=1)
    cpus_per_member: float = Field(1.0, gt=0)
    gpus_per_member: float = Field(0.0, ge=0)
    max_retries: int = Field(2, ge=0, description="restarts of a dead worker for one member in one step")
    progress: bool = True
    tensorboard: bool = Field(True, description="log every member's fitness and losses to RUN/tensorboard")
    overlap_steps: bool = Field(
        True, description="start a member's next step as soon as it is sure to survive the selection (same result)"
    )
    keep_best_ever_population: bool | None = Field(
        None, description="keep every member's checkpoint of the step with the best fitness so far in "
                          "RUN/best_ever_population (for `pbtnas soup --population best_ever`); default: on for "
                          "the gan task, as the reference keeps it for GAN soups"
    )

    @field_validator("shrink_perturb", mode="before")
    @classmethod
    def _parse_sp(cls, v: Any) -> Any:
        if isinstance(v, str):
            sp = ShrinkPerturb.parse(v)
            return (sp.shrink, sp.perturb)
        return v

    @field_validator("address")
    @classmethod
    def _check_address(cls, v: str | None) -> str | None:
        # Ray itself raises a bare ValueError deep inside ray.init for a malformed address: refuse it here, with the
        # forms Ray accepts (found by the CLI fuzz test: `address = "1e999"` ended in a traceback)
        if v is None or v in ("auto", "local") or v.startswith("ray://"):
            return v
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{v!r} is not a Ray address: give HOST:PORT (e.g. 10.0.0.1:6379), auto or ray://HOST:PORT")
        return v

    @model_validator(mode="after")
    def _check(self) -> SearchConfig:
        if self.algorithm == "mutation" and self.shrink_perturb is not None:
            raise ValueError("the mutation baseline does not shrink-perturb; drop shrink_perturb")
        if self.mix_with_self and self.algorithm != "pbtnas":
            raise ValueError("mix_with_self is an ablation of pbtnas; use it with algorithm = 'pbtnas'")
        self.steps()  # validates the schedule
        return self

    def keeps_best_ever_population(self) -> bool:
        if self.keep_best_ever_population is not None:
            return self.keep_best_ever_population
        return self.task == "gan"

    def effective_shrink_perturb(self) -> ShrinkPerturb | None:
        if self.shrink_perturb is not None:
            return ShrinkPerturb(*self.shrink_perturb)
        return ShrinkPerturb(0.4, 0.1) if self.algorithm == "pbtnas" else None

    def steps(self) -> tuple[Any, ...]:
        rules = tuple(StepRule(r.until_epoch, r.step) for r in self.step_schedule)
        return plan_steps(self.epochs, self.step, rules)


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory; give a TOML config file") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (not UTF-8 at byte {err.start}); expected TOML") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None


def validate_config(values: dict[str, Any], source: str = "options") -> SearchConfig:
    try:
        return SearchConfig.model_validate(values)
    except ValidationError as err:
        lines = [f"invalid configuration ({source}):"]
        for e in err.errors():
            where = ".".join(str(p) for p in e["loc"]) or "config"
            lines.append(f"  {where}: {e['msg']}")
        raise ConfigError("\n".join(lines)) from None
