"""K-means and GMM anomaly blocks: plain-array scoring equals scikit-learn, injected
out-of-distribution windows are flagged, bad inputs give clear errors."""

import json

import numpy as np
import pytest

from workers.learn import LearnError
from workers.learn.anomaly import fit_gmm, fit_kmeans, kmeans_distances, score_gmm, score_kmeans


def motion_features(n_per_class: int, *, seed: int) -> np.ndarray:
    """Spectral-analysis-like features of three motion classes (idle, wave, shake): per axis
    RMS and the power in four frequency bands, 3 axes → 15 features."""
    rng = np.random.default_rng(seed)
    rows = []
    for centre_hz, amp in ((0.0, 0.05), (2.0, 1.0), (8.0, 2.5)):
        for _ in range(n_per_class):
            t = np.arange(0, 2.0, 1 / 62.5)
            feats = []
            for axis in range(3):
                sig = (
                    amp
                    * (axis + 1)
                    / 3
                    * np.sin(2 * np.pi * centre_hz * t + rng.uniform(0, 2 * np.pi))
                )
                sig = sig + rng.normal(0, 0.05, t.shape)
                spec = np.abs(np.fft.rfft(sig)) ** 2 / len(sig)
                f = np.fft.rfftfreq(len(sig), 1 / 62.5)
                bands = [
                    spec[(f >= lo) & (f < hi)].sum()
                    for lo, hi in ((0, 1), (1, 4), (4, 12), (12, 32))
                ]
                feats += [np.sqrt(np.mean(sig**2)), *np.log1p(bands)]
            rows.append(feats)
    return np.array(rows)


def outliers(n: int, *, seed: int) -> np.ndarray:
    """Windows unlike any class: a 20 Hz vibration with large amplitude."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 2.0, 1 / 62.5)
    rows = []
    for _ in range(n):
        feats = []
        for _axis in range(3):
            sig = 4.0 * np.sin(2 * np.pi * 20.0 * t + rng.uniform(0, 6)) + rng.normal(
                0, 0.3, t.shape
            )
            spec = np.abs(np.fft.rfft(sig)) ** 2 / len(sig)
            f = np.fft.rfftfreq(len(sig), 1 / 62.5)
            bands = [
                spec[(f >= lo) & (f < hi)].sum() for lo, hi in ((0, 1), (1, 4), (4, 12), (12, 32))
            ]
            feats += [np.sqrt(np.mean(sig**2)), *np.log1p(bands)]
        rows.append(feats)
    return np.array(rows)


@pytest.fixture(scope="module")
def data():
    return motion_features(60, seed=1), motion_features(20, seed=2), outliers(20, seed=3)


def test_kmeans_plain_arrays_match_sklearn(data):
    from sklearn.cluster import KMeans

    train, _, _ = data
    model = fit_kmeans(train, n_clusters=6, seed=3)
    model = json.loads(json.dumps(model))  # survives a JSON round trip as plain arrays
    Z = (train - np.array(model["mean"])) / np.array(model["scale"])
    km = KMeans(n_clusters=6, n_init=10, random_state=3).fit(Z)
    np.testing.assert_allclose(
        kmeans_distances(model, train), km.transform(Z), rtol=1e-9, atol=1e-9
    )
    # every training point lies inside its cluster's radius
    scores = score_kmeans(model, train)
    assert scores.max() <= 1.0 + 1e-9
    assert scores.max() > 0.5


def test_kmeans_score_is_continuous_between_a_tight_and_a_wide_cluster():
    """Half-way between a tight cluster and a wide one, the nearest-centre rule jumps (its ratio
    is taken against whichever radius float rounding picks); the score must not."""
    rng = np.random.default_rng(0)
    tight = rng.normal(0.0, 0.01, (40, 2))
    wide = rng.normal(0.0, 1.0, (40, 2)) + [10.0, 0.0]
    model = fit_kmeans(np.vstack([tight, wide]), n_clusters=2, seed=0)
    centres = np.array(model["centres"]) * model["scale"] + model["mean"]
    a, b = centres[np.argsort(centres[:, 0])]
    line = a + np.linspace(0.0, 1.0, 2001)[:, None] * (b - a)
    scores = score_kmeans(model, line)
    assert np.abs(np.diff(scores)).max() < 0.05, np.abs(np.diff(scores)).max()


def test_kmeans_one_window_cluster_gets_a_usable_radius():
    """A cluster holding a single window has radius 0: it takes the median radius of the others
    instead of scoring every nearby window as infinitely anomalous."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(0, 1, (30, 2)) + 8, [[40.0, 40.0]]])
    model = fit_kmeans(X, n_clusters=3, seed=0)
    radii = np.array(model["radii"])
    assert radii.min() >= 0.1 * np.median(radii) > 0
    near_single = np.array([[40.0, 40.5]])
    assert score_kmeans(model, near_single)[0] < 5


def test_kmeans_flags_injected_outliers(data):
    train, normal, odd = data
    model = fit_kmeans(train, n_clusters=6, seed=1)
    normal_scores = score_kmeans(model, normal)
    odd_scores = score_kmeans(model, odd)
    assert (odd_scores > model["threshold"]).all(), odd_scores
    assert np.mean(normal_scores > model["threshold"]) <= 0.1
    assert odd_scores.min() > np.percentile(normal_scores, 99)


def test_kmeans_on_selected_features(data):
    train, _, odd = data
    model = fit_kmeans(train, n_clusters=3, features=[0, 5, 10], seed=1)
    assert model["features"] == [0, 5, 10]
    assert np.array(model["centres"]).shape == (3, 3)
    assert (score_kmeans(model, odd) > 1).all()


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gmm_plain_arrays_match_sklearn(data, covariance_type):
    from sklearn.mixture import GaussianMixture

    train, normal, odd = data
    model = json.loads(
        json.dumps(fit_gmm(train, n_components=3, seed=2, covariance_type=covariance_type))
    )

    def scale(X):
        return (X - np.array(model["mean"])) / np.array(model["scale"])

    gm = GaussianMixture(
        n_components=3, covariance_type=covariance_type, random_state=2, reg_covar=1e-4
    ).fit(scale(train))
    both = np.vstack([normal, odd])
    np.testing.assert_allclose(
        score_gmm(model, both), -gm.score_samples(scale(both)), rtol=1e-8, atol=1e-8
    )
    assert (score_gmm(model, odd) > model["threshold"]).all()
    assert np.mean(score_gmm(model, normal) > model["threshold"]) <= 0.1


def test_bad_inputs(data):
    train, _, _ = data
    with pytest.raises(LearnError, match="no features"):
        fit_kmeans(np.zeros((0, 15)), n_clusters=2)
    with pytest.raises(LearnError, match="no features"):
        fit_gmm(None)
    with pytest.raises(LearnError, match="500 clusters asked but only 180 training samples"):
        fit_kmeans(train, n_clusters=500)
    with pytest.raises(
        LearnError, match=r"feature index 15 out of range: the features have 15 axes \(0..14\)"
    ):
        fit_kmeans(train, n_clusters=2, features=[1, 15])
    with pytest.raises(LearnError, match="NaN"):
        fit_kmeans(np.array([[1.0, np.nan], [0.0, 1.0]]), n_clusters=1)
    model = fit_kmeans(train, n_clusters=2)
    with pytest.raises(LearnError, match="expects 15 features per sample, got 4"):
        score_kmeans(model, np.zeros((3, 4)))
    with pytest.raises(LearnError, match="not a Gaussian-mixture"):
        score_gmm(model, train)
    with pytest.raises(LearnError, match="covariance type"):
        fit_gmm(train, covariance_type="spherical")
