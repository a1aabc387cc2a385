"""Tasks: what a population member is trained on and how its fitness is measured (see docs/contracts.md)."""
