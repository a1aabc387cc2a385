"""Test accuracy of a classify network: the test split (never seen by the search: fitness is validation accuracy),
its confusion matrix, and the matrix as a PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pbtnas.tasks.base import MemberState
from pbtnas.tasks.classify.task import ClassifyTask
from pbtnas.tasks.dataset_files import DatasetError

__all__ = ["SplitScores", "score_test_split", "write_confusion_png"]


@dataclass(frozen=True)
class SplitScores:
    accuracy: float
    samples: int
    confusion: list[list[int]]  # confusion[true][predicted]
    class_names: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"test_accuracy": self.accuracy, "test_samples": self.samples, "confusion_matrix": self.confusion,
                "class_names": list(self.class_names)}


def score_test_split(task: ClassifyTask, state: MemberState, genome: Any) -> SplitScores:
    """The accuracy and confusion matrix of ``state`` on the task's test split."""
    data = task.data
    if data.x_test is None or data.y_test is None:
        raise DatasetError(f"{task.options.data} has no test split: give one (x_test/y_test in an npz, a test/ "
                           f"folder of images) or hold one out with --task-option test_fraction=0.2 when searching")
    predicted = task.predict(state, genome, data.x_test).argmax(1)
    k = data.num_classes
    confusion = torch.bincount(data.y_test * k + predicted, minlength=k * k).view(k, k)
    names = data.class_names or tuple(str(i) for i in range(k))
    accuracy = float((predicted == data.y_test).float().mean()) if len(predicted) else float("nan")
    return SplitScores(accuracy, len(predicted), confusion.tolist(), names)


def write_confusion_png(scores: SplitScores, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(scores.confusion)
    size = min(12.0, 2.5 + 0.45 * k)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        image = ax.imshow(scores.confusion, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        if k <= 30:  # the counts stay readable
            ax.set_xticks(range(k), scores.class_names, rotation=90)
            ax.set_yticks(range(k), scores.class_names)
            peak = max(max(row) for row in scores.confusion) or 1
            for i, row in enumerate(scores.confusion):
                for j, n in enumerate(row):
                    ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                            color="white" if n > peak / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{title}: test accuracy {scores.accuracy:.4f} ({scores.samples} samples)")
        fig.tight_layout()
        tmp = path.with_name(path.name + ".tmp.png")
        fig.savefig(tmp, dpi=100)
        tmp.replace(path)
    finally:
        plt.close(fig)
    return path
