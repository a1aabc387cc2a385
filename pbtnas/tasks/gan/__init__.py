"""The GAN task: AdversarialNAS-style training of a space's generator and discriminator, scored by FID.

See docs/gan.md. ``GanTask`` is registered as ``gan`` in pbtnas.tasks.registry.
"""

from pbtnas.tasks.gan.options import PRESETS, GanOptions
from pbtnas.tasks.gan.outputs import GanScores, evaluate_generator, parse_grid, sample, save_grid
from pbtnas.tasks.gan.task import GanTask

__all__ = [
    "PRESETS",
    "GanOptions",
    "GanScores",
    "GanTask",
    "evaluate_generator",
    "parse_grid",
    "sample",
    "save_grid",
]
