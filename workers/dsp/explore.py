"""Feature explorer: 2-D projections of a feature matrix and per-feature importance."""

from __future__ import annotations

import warnings

import numpy as np

from .params import DspError, ParamError

METHODS = ("auto", "pca", "umap", "tsne")
UMAP_MIN_ROWS = 100
TSNE_MIN_ROWS = 30


def _check(features) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise DspError(f"expected features shaped [n_rows, n_features], got {x.shape}")
    if not np.isfinite(x).all():
        raise DspError("features contain NaN or infinite values")
    return x


def _standardise(x: np.ndarray) -> np.ndarray:
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal components of the standardised features (sign fixed: largest |loading|
    positive)."""
    z = _standardise(x)
    out = np.zeros((x.shape[0], 2))
    if x.shape[0] < 2:
        return out
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    k = min(2, vt.shape[0])
    for i in range(k):
        v = vt[i]
        if v[np.argmax(np.abs(v))] < 0:
            v = -v
        out[:, i] = z @ v
    return out


def project_2d(features, *, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """Project ``[n, d]`` features to ``[n, 2]`` float32; returns (points, method used).

    auto: UMAP when n >= 100 and umap-learn imports, else t-SNE when n >= 30, else PCA.
    Features are standardised (zero mean, unit variance per column) first.
    """
    if method not in METHODS:
        raise ParamError("method", f"got {method!r}; must be one of {', '.join(METHODS)}")
    x = _check(features)
    n = x.shape[0]
    if method == "auto":
        method = "umap" if n >= UMAP_MIN_ROWS else "tsne" if n >= TSNE_MIN_ROWS else "pca"
    if method == "umap":
        try:
            import umap  # heavy import, only when used
        except ImportError:
            method = "tsne" if n >= TSNE_MIN_ROWS else "pca"
    if method in ("umap", "tsne") and n < 5:
        method = "pca"
    z = _standardise(x)
    if method == "umap":
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
        pts = reducer.fit_transform(z)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        pts = TSNE(
            n_components=2, perplexity=min(30.0, (n - 1) / 3.0), init="pca", random_state=seed
        ).fit_transform(z)
    else:
        pts = pca_2d(x)
    return np.asarray(pts, dtype=np.float32), method


def feature_importance(features, labels) -> np.ndarray:
    """ANOVA F-statistic of each feature against the class labels, normalised to sum to 1.

    F = (between-class variance / (k - 1)) / (within-class variance / (n - k)) per column
    (sklearn.feature_selection.f_classif). Constant features score 0. Needs >= 2 classes
    and more rows than classes.
    """
    from sklearn.feature_selection import f_classif

    x = _check(features)
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise DspError(f"labels must be one per row: got {y.shape}, features {x.shape}")
    classes = np.unique(y)
    if len(classes) < 2 or x.shape[0] <= len(classes):
        raise DspError(
            f"feature importance needs at least 2 classes and more rows than classes "
            f"(got {len(classes)} classes, {x.shape[0]} rows)"
        )
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # sklearn warns about constant features; they score 0
        f, _ = f_classif(x, y)
    f = np.nan_to_num(f, nan=0.0, posinf=0.0)
    total = f.sum()
    return (f / total if total > 0 else f).astype(np.float32)
