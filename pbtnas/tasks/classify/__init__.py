"""The fast task: image classification on scikit-learn's bundled 8x8 digits (fitness = validation accuracy)."""

from pbtnas.tasks.classify.task import ClassifyOptions, ClassifyTask

__all__ = ["ClassifyOptions", "ClassifyTask"]
