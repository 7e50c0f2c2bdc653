"""Feature explorer projections and feature importance."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.feature_selection import f_classif

from workers.dsp import DspError, ParamError, feature_importance, project_2d


def blobs(rng, n_per=20, d=6):
    centres = np.array([[0] * d, [8] + [0] * (d - 1), [0, 8] + [0] * (d - 2)], dtype=float)
    x = np.concatenate([c + rng.standard_normal((n_per, d)) for c in centres])
    y = np.repeat(["a", "b", "c"], n_per)
    return x, y


def test_pca_matches_sklearn_up_to_sign(rng):
    x, _ = blobs(rng)
    pts, used = project_2d(x, method="pca")
    assert used == "pca" and pts.shape == (60, 2) and pts.dtype == np.float32
    z = (x - x.mean(0)) / x.std(0)
    ref = PCA(n_components=2).fit_transform(z)
    for k in range(2):
        assert abs(np.corrcoef(pts[:, k], ref[:, k])[0, 1]) > 0.9999


def test_auto_picks_by_size(rng):
    x, _ = blobs(rng, n_per=3)
    assert project_2d(x)[1] == "pca"
    x, _ = blobs(rng, n_per=12)
    pts, used = project_2d(x, seed=1)
    assert used == "tsne" and pts.shape == (36, 2) and np.isfinite(pts).all()


@pytest.mark.slow
def test_umap_when_large(rng):
    x, y = blobs(rng, n_per=40)
    pts, used = project_2d(x)
    assert used == "umap" and pts.shape == (120, 2)
    # the three separated clusters stay separated: nearest centroid classifies every point
    cent = np.stack([pts[y == c].mean(0) for c in "abc"])
    pred = np.array(list("abc"))[np.argmin(((pts[:, None] - cent[None]) ** 2).sum(-1), axis=1)]
    assert (pred == y).mean() > 0.95


def test_project_errors(rng):
    with pytest.raises(ParamError) as err:
        project_2d(np.zeros((5, 2)), method="lda")
    assert err.value.field == "method"
    with pytest.raises(DspError):
        project_2d(np.zeros(5))
    with pytest.raises(DspError):
        project_2d(np.array([[np.nan, 1.0]]))
    pts, _ = project_2d(np.zeros((1, 3)))
    assert pts.shape == (1, 2)


def test_feature_importance_is_normalised_f_statistic(rng):
    x, y = blobs(rng)
    x = np.concatenate([x, np.ones((60, 1))], axis=1)  # a constant feature
    imp = feature_importance(x, y)
    assert imp.shape == (7,) and imp.sum() == pytest.approx(1.0, rel=1e-5)
    f, _ = f_classif(x[:, :6], y)
    np.testing.assert_allclose(imp[:6], f / f.sum(), rtol=1e-5)
    assert (
        imp[6] == 0 and imp[:2].min() > 10 * imp[2:6].max()
    )  # the two informative features dominate
    with pytest.raises(DspError, match="2 classes"):
        feature_importance(x, np.zeros(60))
    with pytest.raises(DspError, match="one per row"):
        feature_importance(x, y[:5])
