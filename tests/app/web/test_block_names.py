"""Pages name blocks by their names, not their ids ("block 2") (issue 13 item 6)."""

from __future__ import annotations

import re

import pytest

from tests.paths import REPO_ROOT

ID_PATTERNS = [
    re.compile(r"block \{\{[^}]*\.id\s*\}\}", re.I),  # templates: "block {{ b.id }}"
    re.compile(r"\(\{\{\s*b\.id\s*\}\}\)"),  # "{{ b.name }} ({{ b.id }})"
    re.compile(r"[\"']block [\"']\s*\+\s*\w+(?!\s*\))"),  # JS: "block " + bid (not a fallback)
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_template_or_script_shows_a_block_by_its_id(backend):
    files = sorted((REPO_ROOT / "templates").glob("*.html")) + sorted(
        (REPO_ROOT / "app" / "static" / "js").glob("*.js")
    )
    found = [
        f"{f.name}: {m.group(0)}"
        for f in files
        for pattern in ID_PATTERNS
        for m in pattern.finditer(f.read_text())
        if "|| (" not in f.read_text()[max(0, m.start() - 30) : m.start()]
    ]
    assert found == []


def test_missing_features_and_models_are_named_by_block(session, make_project):
    from app.schemas.impulses import ImpulseCreate
    from app.services import artifacts, impulses
    from app.services.errors import NotFound

    project = make_project().project
    imp = impulses.create_impulse(
        session,
        project.id,
        ImpulseCreate.model_validate(
            {
                "input": {"type": "time-series", "frequency_hz": 8000},
                "dsp": [{"block": "mfcc", "name": "MFCC of speech"}],
                "learn": [{"type": "classification", "name": "Words"}],
            }
        ),
    )
    with pytest.raises(NotFound, match="block 'MFCC of speech': run generate-features"):
        artifacts.feature_artifact(session, imp, imp.dsp[0].id)
    with pytest.raises(NotFound, match="learning block 'Words' of impulse"):
        artifacts.learn_artifact(session, imp, imp.learn[0].id, "tflite-int8")
