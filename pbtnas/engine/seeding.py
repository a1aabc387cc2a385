"""Every random number of a run comes from the run seed through a named path, so that a decision never depends on
the order in which work happened to run (which keeps parallel runs and resumed runs identical)."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["Purpose", "derive_seed", "rng_for"]


class Purpose(IntEnum):
    """The first element of every seed path; values are part of the run format, never renumber them."""

    INIT_GENOMES = 1
    MEMBER_INIT = 2  # (uid,): weights of an initial member
    TRAIN = 3  # (epoch, uid): training of one member for one step
    EVALUATE = 4  # (epoch,): one evaluation seed shared by the whole population at that epoch
    SELECTION = 5  # (epoch,): parent draws and gene draws of one selection
    CHILD = 6  # (epoch, child uid): fresh-init noise and mutations of one child
    RESTART = 7  # (epoch,): random genomes replacing failed members of random search
    SOUP = 8
    BUDGET = 9  # (epoch, uid): redraws of a proposal over the parameter or FLOP budget (engine/budget.py)


def derive_seed(run_seed: int, purpose: Purpose, *path: int) -> int:
    """A 31-bit seed for (run seed, purpose, path); distinct paths give independent seeds."""
    seq = np.random.SeedSequence([int(run_seed), int(purpose), *(int(p) for p in path)])
    return int(seq.generate_state(1, dtype=np.uint32)[0] >> 1)


def rng_for(run_seed: int, purpose: Purpose, *path: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(run_seed), int(purpose), *(int(p) for p in path)]))
