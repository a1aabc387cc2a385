"""Baselines that do not run on the PBT-NAS engine (BOHB through Ray Tune)."""
