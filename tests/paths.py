"""Paths every test may need: the repository root and the shared reference data beside it."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FSDD_DIR = SHARED_DATA / "fsdd"
MODELS_DIR = SHARED_DATA / "models"


def require_shared(path: Path) -> Path:
    """Return `path`, or skip the calling test when the shared data folder is absent."""
    if not path.exists():
        pytest.skip(
            f"shared reference data not found at {path} (expected ../shared/data beside the repo)"
        )
    return path
