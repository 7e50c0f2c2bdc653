"""Anomaly detection blocks: K-means and a Gaussian mixture.

Both are fitted with scikit-learn but stored as plain arrays in a JSON-able dict (feature
indices, per-axis scaling, centres/radii or weights/means/precision Cholesky factors), and
scored by NumPy code that uses only those arrays, so the same arithmetic can be written in C.

- K-means score: the smallest, over the clusters, of the distance (in scaled feature space)
  to the cluster's centre divided by its radius (the largest distance of the cluster's
  training points to its centre). A score above 1 lies outside every cluster seen in
  training. Taking the minimum of the ratios (rather than the ratio of the nearest centre)
  keeps the score continuous: a window half-way between a tight and a wide cluster does not
  jump between two scores when float32 rounding picks the other centre.
- GMM score: negative log-likelihood of the scaled point under the mixture. The fitted dict
  also carries `threshold`, the largest training score, as a suggested cut-off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from workers.learn.errors import LearnError

COVARIANCE_TYPES = ("full", "diag")


def _matrix(X: Any) -> np.ndarray:
    if X is None:
        raise LearnError(
            "no features: generate features for the impulse before training the anomaly block"
        )
    X = np.asarray(X)
    if X.size == 0 or X.ndim < 2 or X.shape[0] == 0:
        raise LearnError(
            "no features: generate features for the impulse before training the anomaly block"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise LearnError(f"features must be numbers, got dtype {X.dtype}")
    X = X.reshape(len(X), -1).astype(np.float64)
    if not np.isfinite(X).all():
        raise LearnError("the features contain NaN or infinity")
    return X


def _select(X: np.ndarray, features: list[int] | None) -> list[int]:
    n_features = X.shape[1]
    if features is None:
        return list(range(n_features))
    if not isinstance(features, list | tuple) or not features:
        raise LearnError("select at least one feature for the anomaly block")
    out = []
    for f in features:
        if (
            isinstance(f, bool)
            or not isinstance(f, int | np.integer)
            or not 0 <= int(f) < n_features
        ):
            raise LearnError(
                f"feature index {f!r} out of range: the features have {n_features} axes "
                f"(0..{n_features - 1})"
            )
        out.append(int(f))
    if len(set(out)) != len(out):
        raise LearnError(f"duplicate feature indices in {out}")
    return out


def _scaled(model: dict[str, Any], X: Any) -> np.ndarray:
    X = _matrix(X)
    idx = model["features"]
    if X.shape[1] != model["n_input_features"]:
        raise LearnError(
            f"the anomaly model expects {model['n_input_features']} features per sample, "
            f"got {X.shape[1]}"
        )
    return (X[:, idx] - np.asarray(model["mean"])) / np.asarray(model["scale"])


def _fit_scaling(Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = Xs.mean(axis=0)
    scale = Xs.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def fit_kmeans(
    X: Any, *, n_clusters: int = 32, features: list[int] | None = None, seed: int = 1
) -> dict[str, Any]:
    """Fit K-means on the selected feature axes (standardised per axis)."""
    from sklearn.cluster import KMeans

    X = _matrix(X)
    idx = _select(X, features)
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 1:
        raise LearnError(f"the number of clusters must be a positive integer, got {n_clusters!r}")
    if n_clusters > len(X):
        raise LearnError(
            f"{n_clusters} clusters asked but only {len(X)} training samples; use at most {len(X)}"
        )
    Xs = X[:, idx]
    mean, scale = _fit_scaling(Xs)
    Z = (Xs - mean) / scale
    km = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(Z)
    centres = km.cluster_centers_
    dist = np.sqrt(((Z[:, None, :] - centres[None]) ** 2).sum(axis=2))
    nearest = dist.argmin(axis=1)
    radii = _sane_radii(
        [dist[nearest == k, k] for k in range(n_clusters)],
    )
    return {
        "kind": "kmeans",
        "version": 1,
        "n_input_features": int(X.shape[1]),
        "features": idx,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "centres": centres.tolist(),
        "radii": radii.tolist(),
        "threshold": 1.0,
        "seed": seed,
    }


def _sane_radii(members: list[np.ndarray]) -> np.ndarray:
    """Each cluster's radius: the largest distance of its training points to its centre.

    A cluster made of one window (or of identical windows) has radius 0, which would score
    every other window as infinitely anomalous; such clusters take the median radius of the
    others, and no radius is smaller than a tenth of that median.
    """
    radii = np.array([m.max() if len(m) else 0.0 for m in members], dtype=np.float64)
    spread = radii[np.array([len(m) > 1 for m in members]) & (radii > 0)]
    median = float(np.median(spread)) if len(spread) else 1.0
    radii[radii <= 0] = median
    return np.maximum(radii, 0.1 * median)


def kmeans_distances(model: dict[str, Any], X: Any) -> np.ndarray:
    """(N, n_clusters) Euclidean distances in the scaled space (what sklearn's `transform`
    gives)."""
    Z = _scaled(model, X)
    centres = np.asarray(model["centres"])
    return np.sqrt(((Z[:, None, :] - centres[None]) ** 2).sum(axis=2))


def score_kmeans(model: dict[str, Any], X: Any) -> np.ndarray:
    """Anomaly score per sample: min over clusters of distance to the centre / its radius."""
    if model.get("kind") != "kmeans":
        raise LearnError(f"not a K-means anomaly model (kind {model.get('kind')!r})")
    d = kmeans_distances(model, X)
    return (d / np.asarray(model["radii"])[None, :]).min(axis=1)


def fit_gmm(
    X: Any,
    *,
    n_components: int = 4,
    features: list[int] | None = None,
    seed: int = 1,
    covariance_type: str = "full",
) -> dict[str, Any]:
    """Fit a Gaussian mixture on the selected, standardised feature axes."""
    from sklearn.mixture import GaussianMixture

    X = _matrix(X)
    idx = _select(X, features)
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise LearnError(
            f"the number of components must be a positive integer, got {n_components!r}"
        )
    if n_components > len(X):
        raise LearnError(f"{n_components} components asked but only {len(X)} training samples")
    if covariance_type not in COVARIANCE_TYPES:
        raise LearnError(
            f"covariance type must be one of {', '.join(COVARIANCE_TYPES)}, got {covariance_type!r}"
        )
    Xs = X[:, idx]
    mean, scale = _fit_scaling(Xs)
    Z = (Xs - mean) / scale
    gm = GaussianMixture(
        n_components=n_components,
        covariance_type=covariance_type,
        random_state=seed,
        reg_covar=1e-4,
    ).fit(Z)
    model = {
        "kind": "gmm",
        "version": 1,
        "covariance_type": covariance_type,
        "n_input_features": int(X.shape[1]),
        "features": idx,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "weights": gm.weights_.tolist(),
        "means": gm.means_.tolist(),
        # full: (K, D, D) upper-triangular U with precision = U U^T; diag: (K, D) 1/sigma
        "precisions_cholesky": gm.precisions_cholesky_.tolist(),
        "seed": seed,
    }
    model["threshold"] = float(score_gmm(model, X).max())
    return model


def gmm_log_likelihood(model: dict[str, Any], X: Any) -> np.ndarray:
    """log p(x) per sample under the mixture, in the scaled space (as sklearn's `score_samples`)."""
    Z = _scaled(model, X)
    weights = np.asarray(model["weights"])
    means = np.asarray(model["means"])
    prec = np.asarray(model["precisions_cholesky"])
    n, d = Z.shape
    log_prob = np.empty((n, len(weights)))
    for k in range(len(weights)):
        if model["covariance_type"] == "full":
            y = (Z - means[k]) @ prec[k]
            log_det = np.log(np.diag(prec[k])).sum()
        else:
            y = (Z - means[k]) * prec[k]
            log_det = np.log(prec[k]).sum()
        log_prob[:, k] = (
            -0.5 * (d * math.log(2 * math.pi) + (y**2).sum(axis=1)) + log_det + math.log(weights[k])
        )
    top = log_prob.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(log_prob - top).sum(axis=1, keepdims=True))).ravel()


def score_gmm(model: dict[str, Any], X: Any) -> np.ndarray:
    """Anomaly score per sample: the negative log-likelihood (higher = more unusual)."""
    if model.get("kind") != "gmm":
        raise LearnError(f"not a Gaussian-mixture anomaly model (kind {model.get('kind')!r})")
    return -gmm_log_likelihood(model, X)
