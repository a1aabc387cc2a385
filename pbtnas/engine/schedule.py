"""The e_step schedule: which epochs each synchronous step covers. A typed list of segments, never an expression."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Step", "StepRule", "plan_steps"]


@dataclass(frozen=True)
class StepRule:
    """Use steps of ``step`` epochs while the step starts before ``until_epoch``."""

    until_epoch: int
    step: int


@dataclass(frozen=True)
class Step:
    index: int
    start: int
    end: int
    last: bool


def plan_steps(total_epochs: int, default_step: int, rules: tuple[StepRule, ...] = ()) -> tuple[Step, ...]:
    """Split ``[0, total_epochs)`` into steps.

    A step starting at epoch e uses the first rule with ``e < until_epoch``, else ``default_step``; it never
    crosses the rule's ``until_epoch`` nor ``total_epochs``. The paper's RL schedule (e_step doubled in the first
    half of 300 epochs) is ``rules=(StepRule(150, 20),)`` with ``default_step=10``.
    """
    if total_epochs <= 0 or default_step <= 0:
        raise ValueError("epochs and step must be positive")
    ordered = sorted(rules, key=lambda r: r.until_epoch)
    bounds: list[tuple[int, int]] = []
    epoch = 0
    while epoch < total_epochs:
        step, limit = default_step, total_epochs
        for rule in ordered:
            if epoch < rule.until_epoch:
                step, limit = rule.step, min(rule.until_epoch, total_epochs)
                break
        end = min(epoch + step, limit)
        bounds.append((epoch, end))
        epoch = end
    return tuple(Step(i, s, e, i == len(bounds) - 1) for i, (s, e) in enumerate(bounds))
