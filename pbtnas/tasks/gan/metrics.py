"""FID and IS for the GAN task.

The distances themselves are torchmetrics' (``FrechetInceptionDistance``, ``InceptionScore``), fed with features
that were already extracted: one feature pass per image batch serves both metrics, and the same Fréchet code
serves both feature extractors:

- ``InceptionFeatures``: torch-fidelity's TF-compatible Inception-v3 (pool3 2048-d features; 1008-way unbiased
  logits for IS), the network behind paper-comparable FID. Its weights come from a local file (the
  ``inception_weights`` option, or torch's hub cache where torch-fidelity itself would put them); when neither is
  there we raise :class:`InceptionWeightsMissing` and say how to provide them. Nothing is downloaded, and nothing
  else is silently substituted.
- ``ClassifierFeatures``: a small CNN trained once on the dataset's labels (the digits default, which Inception
  cannot judge), cached on disk. Its scores are named "<dataset>-FID" / "<dataset>-IS" everywhere so that nobody
  mistakes them for Inception numbers.

Reference (real-image) statistics are the sums torchmetrics accumulates (feature sum, outer-product sum, count);
they are computed once per dataset, extractor and size, and cached next to the classifier.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore

from pbtnas.tasks.gan.data import ImageData, to_float

__all__ = [
    "ClassifierFeatures",
    "FeatureNet",
    "FrechetScorer",
    "InceptionFeatures",
    "InceptionWeightsMissing",
    "ReferenceStats",
    "extract_features",
    "fid_from_features",
    "inception_score",
    "inception_weights_path",
    "load_or_train_classifier",
    "reference_stats",
]

CLASSIFIER_VERSION = 1  # bump when the classifier's architecture or training changes: old caches are ignored


class InceptionWeightsMissing(FileNotFoundError):
    """Paper-comparable FID/IS were asked for but the Inception weights file is not on this machine."""


# ------------------------------------------------------------------------------------------- feature networks


class FeatureNet(nn.Module):
    """uint8 images [B, 3, H, W] -> (features [B, num_features], logits [B, num_classes])."""

    num_features: int
    num_classes: int
    fid_name: str  # "FID" for Inception, "digits-FID" for the digits classifier
    is_name: str
    cache_tag: str  # identifies the extractor in cache file names

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - interface
        raise NotImplementedError


def _torch_fidelity_inception() -> tuple[type[nn.Module], str]:
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise ImportError("Inception FID needs torch-fidelity (pip install torch-fidelity)") from err
    return FeatureExtractorInceptionV3, URL_INCEPTION_V3


def inception_weights_path(explicit: Path | str | None) -> Path:
    """The local Inception weights file: ``explicit`` if given, else torch-fidelity's file in torch's hub cache."""
    _, url = _torch_fidelity_inception()
    filename = url.rsplit("/", 1)[-1]
    cached = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InceptionWeightsMissing(f"--inception-weights {path}: no such file (expected {filename})")
        return path
    if cached.is_file():
        return cached
    raise InceptionWeightsMissing(
        f"FID/IS on natural images need the TF-compatible Inception-v3 weights ({filename}), and they are not on "
        f"this machine. Download {url} on a machine with internet access, then either pass its path with "
        f"--inception-weights (option inception_weights) or put it at {cached} (torch's hub cache, where "
        f"torch-fidelity looks). pbtnas never downloads them at run time. For a quick look without Inception, "
        f"use fid_features='classifier' (a '<dataset>-FID' on a small classifier's features)."
    )


class InceptionFeatures(FeatureNet):
    """torch-fidelity's Inception-v3 with TF-compatible resizing to 299: pool3 features and unbiased logits."""

    def __init__(self, weights: Path | str | None = None) -> None:
        super().__init__()
        cls, _ = _torch_fidelity_inception()
        path = inception_weights_path(weights)
        # torch-fidelity unpickles the file with weights_only=False; refuse anything that is not plain tensors first.
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise InceptionWeightsMissing(f"{path} is not a plain state dict of tensors ({err})") from err
        try:
            self.net = cls("inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path))
        except RuntimeError as err:  # wrong keys / shapes
            raise InceptionWeightsMissing(f"{path} does not hold torch-fidelity's Inception-v3 weights: {err}") from err
        self.num_features, self.num_classes = 2048, 1008
        self.fid_name, self.is_name, self.cache_tag = "FID", "IS", "inception2048"

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features, logits = self.net(images)
        return features, logits

    def train(self, mode: bool = True) -> InceptionFeatures:
        return super().train(False)  # the extractor is frozen: never let BatchNorm update


class SmallClassifier(nn.Module):
    """A small CNN for 3-channel images in [-1, 1]; its pooled 64-d activations are the FID features."""

    def __init__(self, num_classes: int, width: int = 32) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(2 * w, num_classes)
        self.num_features = 2 * w

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)
        return features, self.head(features)


class ClassifierFeatures(FeatureNet):
    """A trained :class:`SmallClassifier` used as the feature extractor of a '<dataset>-FID'."""

    def __init__(self, classifier: SmallClassifier, dataset: str, image_size: int, accuracy: float) -> None:
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.num_features = classifier.num_features
        self.num_classes = classifier.head.out_features
        self.fid_name, self.is_name = f"{dataset}-FID", f"{dataset}-IS"
        self.cache_tag = f"{dataset}-classifier-v{CLASSIFIER_VERSION}"
        self.image_size, self.accuracy = image_size, accuracy

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        if images.shape[-1] != self.image_size:
            raise ValueError(f"{self.fid_name}: the classifier was trained on {self.image_size}px images, "
                             f"got {images.shape[-1]}px")
        return self.classifier(to_float(images))

    def train(self, mode: bool = True) -> ClassifierFeatures:
        return super().train(False)


def _atomic_save(obj: object, path: Path) -> None:
    """Write then rename, so that parallel workers never read a half-written cache file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def train_classifier(data: ImageData, steps: int = 600, batch_size: int = 64, seed: int = 0
                     ) -> tuple[SmallClassifier, float]:
    """Train a :class:`SmallClassifier` on the labelled images; returns it and its held-out accuracy.

    Every 10th labelled image is held out, so the accuracy says whether the features mean something.
    """
    labelled = torch.nonzero(data.labels >= 0).squeeze(1)
    if labelled.numel() < 20:
        raise ValueError(f"{data.name}: a classifier for {data.name}-FID needs labelled images, found "
                         f"{labelled.numel()}")
    keep = torch.ones(len(labelled), dtype=torch.bool)
    keep[::10] = False
    held_out, train_idx = labelled[~keep], labelled[keep]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallClassifier(data.num_classes)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            idx = train_idx[torch.randint(len(train_idx), (batch_size,), generator=gen)]
            x = to_float(data.images[idx])
            # shifts of up to 2 px: a classifier that tolerates small misplacements gives smoother features
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            _, logits = model(x)
            loss = F.cross_entropy(logits, data.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            _, logits = model(to_float(data.images[held_out]))
            accuracy = float((logits.argmax(1) == data.labels[held_out]).float().mean())
    return model, accuracy


def load_or_train_classifier(data: ImageData, cache_dir: Path | None) -> ClassifierFeatures:
    """The '<dataset>-FID' extractor: loaded from ``cache_dir`` or trained once and cached there."""
    tag = f"{data.name}-classifier-v{CLASSIFIER_VERSION}-{data.image_size}px"
    path = cache_dir / f"{tag}.pt" if cache_dir is not None else None
    if path is not None and path.is_file():
        blob = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(blob["meta"])
        model = SmallClassifier(int(meta["num_classes"]))
        model.load_state_dict(blob["state_dict"])
        return ClassifierFeatures(model, data.name, data.image_size, float(meta["accuracy"]))
    model, accuracy = train_classifier(data)
    if path is not None:
        meta = {"num_classes": data.num_classes, "accuracy": accuracy, "image_size": data.image_size,
                "dataset": data.name, "version": CLASSIFIER_VERSION}
        _atomic_save({"state_dict": model.state_dict(), "meta": json.dumps(meta)}, path)
    return ClassifierFeatures(model, data.name, data.image_size, accuracy)


# ------------------------------------------------------------------------------------------- the statistics


class _Given(nn.Module):
    """Hands already-extracted features to a torchmetrics metric (its "feature extractor" is the identity)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


@dataclass(frozen=True)
class ReferenceStats:
    """Sufficient statistics of the real features: sum, sum of outer products (float64) and count."""

    feature_sum: Tensor
    cov_sum: Tensor
    count: int

    def save(self, path: Path, meta: dict[str, object]) -> None:
        _atomic_save({"feature_sum": self.feature_sum, "cov_sum": self.cov_sum,
                      "count": torch.tensor(self.count), "meta": json.dumps(meta)}, path)

    @classmethod
    def load(cls, path: Path) -> ReferenceStats:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return cls(blob["feature_sum"], blob["cov_sum"], int(blob["count"]))


class FrechetScorer:
    """Fréchet distance between fixed reference statistics and features added batch by batch (torchmetrics)."""

    def __init__(self, num_features: int) -> None:
        self.metric = FrechetInceptionDistance(feature=_Given(num_features), reset_real_features=False)

    def add_real(self, features: Tensor) -> None:
        self.metric.update(features.detach().cpu(), real=True)

    def set_reference(self, stats: ReferenceStats) -> None:
        self.metric.real_features_sum = stats.feature_sum.clone().double()
        self.metric.real_features_cov_sum = stats.cov_sum.clone().double()
        self.metric.real_features_num_samples = torch.tensor(stats.count, dtype=torch.long)

    def reference(self) -> ReferenceStats:
        m = self.metric
        return ReferenceStats(m.real_features_sum.clone(), m.real_features_cov_sum.clone(),
                              int(m.real_features_num_samples))

    def add_fake(self, features: Tensor) -> None:
        self.metric.update(features.detach().cpu(), real=False)

    def compute(self) -> float:
        """The distance; the generated side is cleared afterwards, the reference kept."""
        value = float(self.metric.compute())
        self.metric.reset()
        return value


def fid_from_features(real: Tensor, fake: Tensor) -> float:
    """The Fréchet distance between two feature sets [N, D] (the same code path the task uses)."""
    scorer = FrechetScorer(real.shape[1])
    scorer.add_real(real)
    scorer.add_fake(fake)
    return scorer.compute()


def inception_score(logits: Tensor, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """IS mean and std over ``splits`` (torchmetrics: exp of the mean KL(p(y|x) || p(y)) per split)."""
    with warnings.catch_warnings():  # "will save all extracted features": that is what we hand it, on purpose
        warnings.filterwarnings("ignore", message=".*save all extracted features.*")
        metric = InceptionScore(feature=_Given(logits.shape[1]), splits=splits)
    metric.update(logits.detach().cpu())
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        torch.manual_seed(seed)  # torchmetrics shuffles with the global RNG before splitting
        warnings.filterwarnings("ignore", message=".*degrees of freedom.*")  # one split: no spread to measure
        mean, std = metric.compute()
    return float(mean), (float(std) if splits > 1 else 0.0)


@torch.no_grad()
def extract_features(net: FeatureNet, batches: Iterator[Tensor] | list[Tensor], device: torch.device | str = "cpu"
                     ) -> Iterator[tuple[Tensor, Tensor]]:
    """Features and logits (on the CPU) of uint8 image batches."""
    net = net.to(device).eval()
    for images in batches:
        features, logits = net(images.to(device))
        yield features.float().cpu(), logits.float().cpu()


def _real_batches(data: ImageData, n: int, batch: int) -> Iterator[Tensor]:
    for start in range(0, n, batch):
        yield data.images[start : min(start + batch, n)]


def reference_stats(net: FeatureNet, data: ImageData, n_real: int | None, cache_dir: Path | None,
                    batch_size: int = 250, device: torch.device | str = "cpu",
                    progress: Callable[[int, int], None] | None = None) -> ReferenceStats:
    """Statistics of the first ``n_real`` real images (all when None), cached per extractor, dataset and size."""
    n = len(data) if n_real is None else min(n_real, len(data))
    path = None
    if cache_dir is not None:
        path = cache_dir / f"ref-{net.cache_tag}-{data.name}-{data.image_size}px-n{n}.pt"
        if path.is_file():
            return ReferenceStats.load(path)
    scorer = FrechetScorer(net.num_features)
    done = 0
    for features, _ in extract_features(net, _real_batches(data, n, batch_size), device):
        scorer.add_real(features)
        done += features.shape[0]
        if progress is not None:
            progress(done, n)
    stats = scorer.reference()
    if path is not None:
        stats.save(path, {"extractor": net.cache_tag, "dataset": data.name, "image_size": data.image_size, "n": n})
    return stats
