"""The fast task: classification of any data (``--data``: scikit-learn's 8x8 digits by default, MNIST-1D,
torchvision's data sets, npz/csv/image folders of your own); fitness = validation accuracy."""

from pbtnas.tasks.classify.options import ClassifyOptions
from pbtnas.tasks.classify.task import ClassifyTask

__all__ = ["ClassifyOptions", "ClassifyTask"]
