"""The PBT-NAS engine: population, selection, mixing with shrink-perturb, baselines, soups, Ray execution and
the run directory. It knows compiled spaces (``pbtnas.compiler``) and tasks (``pbtnas.tasks``), nothing else."""
