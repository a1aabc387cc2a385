"""PBT-NAS mixing on the sequence spaces: any two members of spaces/mnist1d.nas or spaces/vit.nas, with any genes
drawn from the donor, give a child whose merged state dict loads into the child's network (no gene changes a layer it
does not own: a patch gene that sets the token count owns the position table, heads own nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pbtnas.compiler import compile_space
from pbtnas.engine.mixing import draw_inherited, mix_states
from pbtnas.engine.statedict import ShrinkPerturb, keys_owned_by

SPACES = Path(__file__).resolve().parents[2] / "spaces"


@pytest.mark.parametrize("name, x", [("mnist1d", torch.randn(2, 1, 40)), ("vit", torch.randn(2, 3, 32, 32))])
def test_children_of_random_parents_load_and_run(name: str, x: torch.Tensor) -> None:
    space = compile_space(SPACES / f"{name}.nas")
    rng = np.random.default_rng(0)
    for trial in range(8):
        base, donor = space.random_genome(rng), space.random_genome(rng)
        plan = draw_inherited(rng, space.genes, base.values, donor.values, p=0.5)
        states = [{"model": space.build(g, seed=s).state_dict(), "shadows": {}, "optim": {}, "meta": {}}
                  for s, g in enumerate((base, donor))]
        child = space.build(space.validate(plan.child_genome), seed=7)
        fresh = {k: v.clone() for k, v in child.state_dict().items()}  # load_state_dict writes into the views
        mixed = mix_states(space, states[0], states[1], fresh, plan.inherited, ShrinkPerturb(0.4, 0.1))["model"]
        child.load_state_dict(mixed)
        assert child.classifier(x).shape == (2, 10)
        # the inherited genes' layers are 0.4 donor + 0.1 fresh, every other layer is the base's
        taken = set(keys_owned_by(space, plan.inherited, list(fresh)))
        for key, value in mixed.items():
            if key in taken and value.is_floating_point():
                assert torch.allclose(value, 0.4 * states[1]["model"][key] + 0.1 * fresh[key]), key
            elif key not in taken:
                assert torch.equal(value, states[0]["model"][key]), key
