"""Lint, format and type checks are part of the suite, with the settings in pyproject.toml.

- `ruff check .`: pycodestyle (line length 100 included), pyflakes, isort, bugbear, pyupgrade,
  simplify, and no `noqa` that silences nothing (RUF100);
- `ruff format --check .`: the tree is formatted as `ruff format` writes it;
- `mypy app workers`: the service and the workers type-check (slow: about 30 s from a cold cache).

The tools are the test environment's own (`python -m ruff`, `python -m mypy`), run from the
repository root so that they read its pyproject.toml.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _assert_clean(*args: str) -> None:
    proc = _run(*args)
    assert proc.returncode == 0, (
        f"`{' '.join(args)}` reports problems (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    )


def test_ruff_check_passes() -> None:
    _assert_clean("ruff", "check", ".")


def test_ruff_format_check_passes() -> None:
    _assert_clean("ruff", "format", "--check", ".")


def test_ruff_enforces_the_line_length() -> None:
    """The configuration really checks lines: a 101-character line in app/ is reported."""
    line = "x = " + repr("a" * 95)
    assert len(line) == 101
    proc = _run("ruff", "check", "--stdin-filename", "app/_line_length_probe.py", "-", stdin=line)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "E501" in proc.stdout, proc.stdout


@pytest.mark.slow
def test_mypy_passes_on_app_and_workers() -> None:
    _assert_clean("mypy", "app", "workers")
