"""Project versions through the API: freeze, list, compare, restore into a new project."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from app.core.db import session_scope
from app.models import Impulse, Project, Sample
from app.services import artifacts, project_export
from app.services.samples import IngestOptions, UploadedFile, delete_samples, ingest, relabel
from tests.app.api.helpers import key
from tests.app.ingestion.factories import HMAC_KEY
from tests.app.services.test_project_export import _body, fill


def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_versions_freeze_compare_and_restore(settings, store, client, make_project):
    new = make_project("walks")
    pid = fill(settings, store, new.project.id)
    h = key(new.api_key)

    _results(settings, store, pid, 0.875)
    r = client.post(f"/api/{pid}/versions", json={"description": "shipped in March"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["version"]["number"] == 1
    assert r.json()["version"]["counts"] == {"samples": 5, "impulses": 1, "artifacts": 3}

    # change the data: relabel one, delete one, add one
    with session_scope(settings) as s:
        ids = list(s.scalars(select(Sample.id).where(Sample.project_id == pid).order_by(Sample.id)))
        relabel(s, s.get(Sample, ids[3]), "sprint")
        delete_samples(s, store, [s.get(Sample, ids[4])])
        opts = IngestOptions(category="training", label="walk", hmac_keys=(HMAC_KEY,))
        added = ingest(s, store, s.get(Project, pid), [UploadedFile("w.json", _body(9))], opts)
        added_id = added[0].sample_id
    _results(settings, store, pid, 0.9375)
    r = client.post(f"/api/{pid}/versions", json={}, headers=h)
    assert r.status_code == 200 and r.json()["version"]["number"] == 2

    listed = client.get(f"/api/{pid}/versions", headers=h).json()["versions"]
    assert [(v["number"], v["description"]) for v in listed] == [(1, "shipped in March"), (2, "")]

    diff = client.get(f"/api/{pid}/versions/compare", params={"a": 1, "b": 2}, headers=h).json()
    assert diff["samples"] == {
        "added": [added_id],
        "removed": [ids[4]],
        "relabelled": [{"id": ids[3], "from": "run", "to": "sprint"}],
        "moved": [],
        "changed": [],
    }
    assert diff["impulses"] == {"added": [], "removed": [], "changed": []}
    assert diff["accuracy"] == {
        "from": [{"impulse": "Impulse", "learnId": 7, "int8": 0.875}],
        "to": [{"impulse": "Impulse", "learnId": 7, "int8": 0.9375}],
    }

    # restore version 1: a new project holding exactly what version 1 froze
    r = client.post(f"/api/{pid}/versions/1/restore", headers=h)
    assert r.status_code == 200, r.text
    restored_id, restored_key = r.json()["projectId"], r.json()["apiKey"]
    assert restored_id != pid and r.json()["counts"]["samples"] == 5
    with session_scope(settings) as s:
        restored = s.get(Project, restored_id)
        assert restored.name == "walks (version 1)"
        again = project_export.project_snapshot(s, store, restored)
        labels = sorted(
            s.scalars(select(Sample.label).where(Sample.project_id == restored_id)).all()
        )
    assert labels == ["idle", "run", "run", "walk", "walk"]
    frozen = _zip_files(store.get(_version_key(settings, pid, 1)))
    for name in frozen:
        if name not in ("project.json", "manifest.json"):
            assert again[name] == frozen[name], name
    assert client.get(f"/api/{restored_id}/versions", headers=key(restored_key)).json() == {
        "success": True,
        "versions": [],
    }


def _results(settings, store, project_id: int, accuracy: float) -> None:
    """Training results as training writes them (validation metrics per model)."""
    body = json.dumps({"validation": {"int8": {"accuracy": accuracy, "loss": 0.1}}}).encode()
    with session_scope(settings) as s:
        impulse = s.scalars(select(Impulse).where(Impulse.project_id == project_id)).one()
        artifacts.save_learn_artifact(
            s, store, impulse, 7, "training-results", body, revision=1, job_id=None
        )


def _version_key(settings, project_id: int, number: int) -> str:
    from app.services import versions

    with session_scope(settings) as s:
        return versions.get_version(s, project_id, number).blob_key


def test_version_errors(settings, client, make_project):
    new = make_project("p")
    pid, h = new.project.id, key(new.api_key)
    r = client.get(f"/api/{pid}/versions/compare", params={"a": 1, "b": 2}, headers=h)
    assert r.status_code == 404 and "version 1 does not exist" in r.json()["error"]
    r = client.post(f"/api/{pid}/versions", json={"description": "x" * 2001}, headers=h)
    assert r.status_code == 422
    assert client.post(f"/api/{pid}/versions/3/restore", headers=h).status_code == 404
    other = make_project("other")
    r = client.get(f"/api/{other.project.id}/versions", headers=h)
    assert r.status_code == 404, "another project's versions are not visible with this key"
