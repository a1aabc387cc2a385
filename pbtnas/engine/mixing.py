"""PBT-NAS mixing (paper Algorithm 2 and the authors' code, AwesomeLemon/PBT-NAS at commit 5a27434): the child is the base parent with some genes (and their
weights) taken from the donor, the inherited weights shrink-perturbed against a fresh network of the child's genome.

What happens to each part of the state of an inherited gene's layers (everything else stays the base's):

* model: every key the gene owns = shrink * donor + perturb * fresh (floating tensors, including BatchNorm running
  statistics, as the reference does); integer buffers (``num_batches_tracked``) are the donor's; spectral-norm
  vectors are then rescaled to unit length.
* shadows (EMA generator, RL target critic): the donor's values, without shrink-perturb (as the reference does).
* optim: the moments of those keys are dropped, so they start fresh; the base's moments stay for the base's
  layers, matched by parameter name (never by position, as the authors' code does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from pbtnas.engine.statedict import ShrinkPerturb, SpaceLike, keys_owned_by, renormalize_sn, shrink_perturb_tensor
from pbtnas.tasks.base import MemberState

__all__ = ["MixError", "MixPlan", "close_over_links", "draw_inherited", "mix_states", "replace_layers"]


class MixError(ValueError):
    """Weights that cannot be merged (a gene changes the shape of a layer it does not own)."""


@dataclass(frozen=True)
class MixPlan:
    base_uid: int
    donor_uid: int
    inherited: tuple[int, ...]  # gene indices taken from the donor (value and weights)
    child_genome: tuple[int, ...]


def close_over_links(genes: Sequence[object], chosen: Iterable[int]) -> tuple[int, ...]:
    """Add every gene linked to a chosen gene (their weights cannot be separated, so they travel together)."""
    result = set(chosen)
    frontier = list(result)
    while frontier:
        i = frontier.pop()
        for j in getattr(genes[i], "linked", ()) or ():
            if j not in result:
                result.add(j)
                frontier.append(j)
    return tuple(sorted(result))


def draw_inherited(
    rng: np.random.Generator, genes: Sequence[object], base: tuple[int, ...], donor: tuple[int, ...], p: float
) -> MixPlan:
    """Each gene independently with probability p (also when the donor's value equals the base's, and also
    weightless genes, as in the paper), then linked genes together. Returns the plan without uids."""
    draws = rng.random(len(genes)) < p
    inherited = close_over_links(genes, (i for i, d in enumerate(draws) if d))
    child = tuple(donor[i] if i in inherited else base[i] for i in range(len(genes)))
    return MixPlan(base_uid=-1, donor_uid=-1, inherited=inherited, child_genome=child)


def mix_states(
    space: SpaceLike,
    base: MemberState,
    donor: MemberState,
    fresh_model: dict[str, Tensor],
    inherited: Iterable[int],
    sp: ShrinkPerturb,
) -> MemberState:
    """The child's state. ``fresh_model`` is the state dict of a freshly initialised network of the child's genome;
    its keys are exactly the child's keys."""
    inherited = tuple(inherited)
    child_keys = list(fresh_model)
    taken = keys_owned_by(space, inherited, child_keys)
    model: dict[str, Tensor] = {}
    for key in child_keys:
        fresh = fresh_model[key]
        source = donor["model"] if key in taken else base["model"]
        parent = source.get(key)
        who = "donor" if key in taken else "base"
        if parent is None:
            raise MixError(f"{key}: the child needs it but the {who} parent has no such tensor")
        if parent.shape != fresh.shape:
            raise MixError(
                f"{key}: the {who} parent's tensor has shape {tuple(parent.shape)}, the child's layer needs "
                f"{tuple(fresh.shape)}; a gene changes a layer it does not own (the compiler should link them)"
            )
        # Unchanged tensors are shared with the base, not copied: states are values that nobody modifies in
        # place (tasks load them with load_state_dict, Ray serialises them), and copying a full GanHard model
        # costs more than the rest of a mixing.
        model[key] = shrink_perturb_tensor(parent, fresh, sp) if key in taken else parent
    if (sp.shrink, sp.perturb) not in ((1.0, 0.0), (0.0, 1.0)):  # pure copies are already unit length
        renormalize_sn(model, taken)

    shadows: dict[str, dict[str, Tensor]] = {}
    for name, base_shadow in base["shadows"].items():
        donor_shadow = donor["shadows"].get(name, {})
        drop = keys_owned_by(space, inherited, base_shadow)
        shadow = {k: v for k, v in base_shadow.items() if k not in drop and k in model}
        for k in keys_owned_by(space, inherited, donor_shadow):
            if k in model:
                shadow[k] = donor_shadow[k]
        shadows[name] = shadow

    drop_moments = keys_owned_by(space, inherited, base["optim"])
    optim = {k: dict(fields) for k, fields in base["optim"].items() if k not in drop_moments and k in model}
    return {"model": model, "shadows": shadows, "optim": optim, "meta": dict(base["meta"])}


def replace_layers(
    space: SpaceLike, base: MemberState, fresh_model: dict[str, Tensor], genes: Iterable[int]
) -> MemberState:
    """The layers of ``genes`` re-initialised from ``fresh_model`` (in the model and in every shadow that covers
    the network they belong to), their moments dropped: SEARL's architecture mutation (as the authors' code does)."""
    genes = tuple(genes)
    covered = {name: {k.split(".", 1)[0] for k in shadow} for name, shadow in base["shadows"].items()}
    fresh_shadows = {
        name: {k: v for k, v in fresh_model.items() if k.split(".", 1)[0] in nets} for name, nets in covered.items()
    }
    as_donor: MemberState = {"model": fresh_model, "shadows": fresh_shadows, "optim": {}, "meta": {}}
    return mix_states(space, base, as_donor, fresh_model, genes, ShrinkPerturb(1.0, 0.0))
