"""FID against the closed form for Gaussians, IS against a hand-computed case, and the two feature networks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from pbtnas.tasks.gan.data import load_digits, to_float
from pbtnas.tasks.gan.metrics import (
    FrechetScorer,
    InceptionFeatures,
    InceptionWeightsMissing,
    ReferenceStats,
    fid_from_features,
    inception_score,
    inception_weights_path,
    load_or_train_classifier,
    reference_stats,
)


def samples_with_moments(mean: np.ndarray, cov: np.ndarray, n: int, seed: int) -> torch.Tensor:
    """n samples whose sample mean and (unbiased) sample covariance are exactly ``mean`` and ``cov``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(mean)))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T  # whiten: sample cov = I
    x = x @ np.linalg.cholesky(cov).T + mean
    return torch.from_numpy(x)


def closed_form_frechet(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    covmean = scipy.linalg.sqrtm(c1 @ c2).real
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * covmean))


def test_fid_diagonal_gaussians_by_hand() -> None:
    # N([0,0,0], diag(1,4,9)) vs N([1,2,0], diag(4,1,9)): |dm|^2 = 5; sum (sqrt a - sqrt b)^2 = 1 + 1 + 0 = 2
    real = samples_with_moments(np.zeros(3), np.diag([1.0, 4.0, 9.0]), 500, seed=0)
    fake = samples_with_moments(np.array([1.0, 2.0, 0.0]), np.diag([4.0, 1.0, 9.0]), 700, seed=1)
    assert fid_from_features(real, fake) == pytest.approx(7.0, rel=1e-5)


def test_fid_full_covariances_match_the_closed_form() -> None:
    rng = np.random.default_rng(3)
    d = 6
    a, b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    c1, c2 = a @ a.T + 0.5 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d) * 3
    expected = closed_form_frechet(m1, c1, m2, c2)
    real = samples_with_moments(m1, c1, 400, seed=4)
    fake = samples_with_moments(m2, c2, 300, seed=5)
    assert fid_from_features(real, fake) == pytest.approx(expected, rel=1e-4)
    assert fid_from_features(real, real) == pytest.approx(0.0, abs=1e-3)


def test_cached_reference_gives_the_same_distance_in_batches(tmp_path: Path) -> None:
    real = samples_with_moments(np.zeros(4), np.eye(4), 200, seed=0).float()
    fake = samples_with_moments(np.ones(4), 2 * np.eye(4), 200, seed=1).float()
    one_go = fid_from_features(real, fake)
    ref = FrechetScorer(4)
    for part in real.split(64):
        ref.add_real(part)
    ref.reference().save(tmp_path / "ref.pt", {"note": "test"})
    scorer = FrechetScorer(4)
    scorer.set_reference(ReferenceStats.load(tmp_path / "ref.pt"))
    for part in fake.split(50):
        scorer.add_fake(part)
    assert scorer.compute() == pytest.approx(one_go, rel=1e-5)
    # the generated side is cleared after compute, the reference is kept
    scorer.add_fake(real)
    assert scorer.compute() == pytest.approx(0.0, abs=1e-3)
    assert one_go == pytest.approx(4 + 4 * (math.sqrt(2) - 1) ** 2, rel=1e-4)


def test_inception_score_hand_computed() -> None:
    # Two classes; half the images have p(y|x) = (3/4, 1/4), half (1/4, 3/4) -> p(y) = (1/2, 1/2),
    # KL = 3/4 ln(3/2) + 1/4 ln(1/2) for every image, IS = exp(KL) in every split, so std = 0.
    logit = math.log(3.0)
    logits = torch.tensor([[logit, 0.0], [0.0, logit]]).repeat(50, 1)
    mean, std = inception_score(logits, splits=1)
    assert mean == pytest.approx(math.exp(0.75 * math.log(1.5) + 0.25 * math.log(0.5)), rel=1e-5)
    # confident and balanced over 4 classes: IS = 4; all images alike: IS = 1
    onehot = torch.eye(4).repeat(25, 1) * 50.0
    assert inception_score(onehot, splits=1)[0] == pytest.approx(4.0, rel=1e-4)
    mean, std = inception_score(torch.tensor([[2.0, 0.0, 1.0]]).repeat(100, 1), splits=10)
    assert mean == pytest.approx(1.0, abs=1e-5) and std == pytest.approx(0.0, abs=1e-5)


def test_digits_classifier_is_trained_once_cached_and_meaningful(gan_cache: Path) -> None:
    data = load_digits(16)
    net = load_or_train_classifier(data, gan_cache)
    assert net.fid_name == "digits-FID" and net.is_name == "digits-IS"
    assert net.accuracy > 0.9  # held-out accuracy: the features know what a digit is
    cached = list(gan_cache.glob("digits-classifier-*-16px.pt"))
    assert len(cached) == 1
    again = load_or_train_classifier(data, gan_cache)  # from the cache: the same weights
    x = data.images[:32]
    torch.testing.assert_close(net(x)[0], again(x)[0])

    ref = reference_stats(net, data, None, gan_cache)
    assert ref.count == len(data)
    assert list(gan_cache.glob("ref-digits-classifier-*-digits-16px-n1797.pt"))
    scorer = FrechetScorer(net.num_features)
    scorer.set_reference(ref)
    with torch.no_grad():
        scorer.add_fake(net(data.images[::2])[0])  # half of the real digits
        close = scorer.compute()
        noise = torch.randint(0, 256, (500, 3, 16, 16), dtype=torch.uint8)
        scorer.add_fake(net(noise)[0])
        far = scorer.compute()
        # shifted digits are worse than real ones but better than noise
        shifted = torch.roll(data.images[::2], shifts=(4, 4), dims=(2, 3))
        scorer.add_fake(net(shifted)[0])
        middle = scorer.compute()
    assert close < middle < far
    assert close < 0.05 * far
    with pytest.raises(ValueError, match="trained on 16px"):
        net(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    assert to_float(x).shape == x.shape


def test_missing_inception_weights_say_how_to_provide_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    with pytest.raises(InceptionWeightsMissing, match=r"--inception-weights.*hub cache.*never downloads"):
        inception_weights_path(None)
    with pytest.raises(InceptionWeightsMissing, match=r"no such file"):
        inception_weights_path(tmp_path / "nope.pth")
    # the library cache is used when the file is there
    cached = tmp_path / "torch-home" / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert inception_weights_path(None) == cached


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's Inception with random weights, saved like the real weights file (no download)."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("inception") / "weights.pth"
    torch.save(net.state_dict(), path)
    return path


def test_inception_features_load_from_a_local_file(random_inception_weights: Path, tmp_path: Path) -> None:
    net = InceptionFeatures(random_inception_weights)
    assert (net.fid_name, net.num_features, net.num_classes) == ("FID", 2048, 1008)
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        features, logits = net(images)
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    assert torch.isfinite(features).all()
    net.train()
    assert not net.net.training  # frozen: BatchNorm statistics never move

    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(3)}, bad)
    with pytest.raises(InceptionWeightsMissing, match="does not hold torch-fidelity's Inception-v3 weights"):
        InceptionFeatures(bad)
