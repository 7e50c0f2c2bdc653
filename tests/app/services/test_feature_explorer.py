"""The feature explorer's projection: UMAP when umap-learn is installed (t-SNE otherwise, PCA for
a few points), said in the job log before and after, at most EXPLORER_MAX_POINTS windows (a random
subset beyond, flagged `sampled`)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from app.services import features


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b"] * (n // 2))
    X = rng.normal(size=(n, 6)) + (labels == "b")[:, None] * 3.0
    return X, labels, np.array(["training"] * n), np.arange(n) // 3, np.arange(n) % 3


def test_the_method_follows_the_number_of_points_and_umap_when_installed():
    assert features.explorer_method(10) == "pca"
    assert features.explorer_method(50) == "tsne"
    assert importlib.util.find_spec("umap") is not None  # a dependency (pyproject.toml)
    assert features.explorer_method(features.UMAP_MIN_POINTS) == "umap"


def test_a_cap_on_points_sampled_and_said(monkeypatch):
    monkeypatch.setattr(features, "EXPLORER_MAX_POINTS", 40)
    lines: list[str] = []
    out = features.explorer_data(*_data(90), progress=lines.append)
    assert len(out["points"]) == 40 and out["total"] == 90 and out["sampled"] is True
    assert out["method"] == "tsne"
    assert lines[0].startswith("feature explorer: projecting 40 of 90 windows to 2-D (t-SNE; ")
    assert "a random 40, at most 40" in lines[0]
    assert lines[1].startswith("feature explorer: tsne projection of 40 windows in ")
    small = features.explorer_data(*_data(10))
    assert small["sampled"] is False and small["method"] == "pca" and len(small["points"]) == 10


@pytest.mark.slow  # umap-learn's first call imports and compiles for 40-100 s here
def test_umap_projects_and_separates_two_classes():
    lines: list[str] = []
    X, labels, *rest = _data(120)
    out = features.explorer_data(X, labels, *rest, progress=lines.append)
    assert out["method"] == "umap" and "(UMAP; the first UMAP in a worker" in lines[0]
    pts = np.array([[p["x"], p["y"]] for p in out["points"]])
    a, b = pts[labels == "a"].mean(axis=0), pts[labels == "b"].mean(axis=0)
    spread = pts[labels == "a"].std(axis=0).mean()
    assert np.linalg.norm(a - b) > 2 * spread
