"""Export a project to a zip, import it into a fresh installation, export again: the same bytes.

A damaged zip (a changed byte, a missing file, an unknown format version) is refused by
`tinyforge import` with one clear line, and nothing is created; a failure halfway through an import
leaves neither rows nor blobs.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import session_scope
from app.ingestion import sign_acquisition
from app.models import Artifact, Impulse, Project, Sample
from app.schemas.impulses import ImpulseCreate
from app.services import artifacts, project_export
from app.services import impulses as impulse_service
from app.services.samples import IngestOptions, UploadedFile, ingest, relabel
from tests.app.ingestion.factories import HMAC_KEY, accel_payload
from tests.app.test_cli import run

DESIGN = {
    "input": {"type": "time-series", "frequency_hz": 100},
    "dsp": [{"block": "flatten"}],
    "learn": [{"id": 7, "type": "classification"}],
}


def _body(seed: int) -> bytes:
    return sign_acquisition(accel_payload(20, seed=seed), hmac_key=HMAC_KEY)


def fill(settings, store, project_id: int) -> int:
    """Five samples (two with the same bytes), an impulse, a model and a library."""
    with session_scope(settings) as s:
        project = s.get(Project, project_id)
        project.description = "walks and runs"
        for category, label, seeds in (("training", "walk", [1, 2, 2]), ("testing", "run", [3, 4])):
            files = [UploadedFile(f"{label}.{i}.json", _body(seed)) for i, seed in enumerate(seeds)]
            opts = IngestOptions(
                category=category,
                label=label,
                hmac_keys=(HMAC_KEY,),
                metadata={"site": "lab"},
            )
            for f in files:  # one by one: each its own blob (a pack file is tested below)
                assert ingest(s, store, project, [f], opts)[0].success
        first = s.scalars(select(Sample).order_by(Sample.id)).first()
        relabel(s, first, "idle")
        impulse = impulse_service.create_impulse(
            s, project.id, ImpulseCreate.model_validate(DESIGN)
        )
        artifacts.save_learn_artifact(
            s, store, impulse, 7, "tflite-int8", b"TFL3-model", revision=1, job_id=None
        )
        artifacts.save_deployment(
            s,
            store,
            project_id=project.id,
            impulse_id=impulse.id,
            job_id=None,
            name="library.zip",
            data=b"PK-library",
            meta={"target": "cpp"},
        )
        return project.id


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_export_import_export_gives_the_same_bytes(settings, store, make_project, tmp_path):
    project_id = fill(settings, store, make_project("exported").project.id)
    first = tmp_path / "first.zip"
    with session_scope(settings) as s:
        done = project_export.export_project(s, store, s.get(Project, project_id), first)
    assert (done.samples, done.sample_files, done.impulses, done.artifacts) == (5, 4, 1, 2)

    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        samples = json.loads(zf.read("samples.json"))
    assert names[0] == "manifest.json"
    assert manifest["format"] == "tinyforge-project" and manifest["format_version"] == 1
    assert manifest["counts"] == {"samples": 5, "impulses": 1, "artifacts": 2}
    assert sorted(manifest["files"]) == sorted(n for n in names if n != "manifest.json")
    assert [(x["label"], x["category"]) for x in samples] == [
        ("idle", "training"),
        ("walk", "training"),
        ("walk", "training"),
        ("run", "testing"),
        ("run", "testing"),
    ]
    assert samples[1]["file"] == samples[2]["file"], "the same bytes are stored once"
    assert samples[0]["metadata"]["site"] == "lab"

    # into a fresh installation, by the command, then out again
    fresh = tmp_path / "fresh"
    out = run(["import", str(first)], fresh)
    assert "project 1 imported" in out.stdout and "5 samples, 1 impulses, 2 artifacts" in out.stdout
    second = tmp_path / "second.zip"
    run(["export", "1", str(second)], fresh)
    assert second.read_bytes() == first.read_bytes()

    with sqlite3.connect(fresh / "tinyforge.sqlite") as conn:
        keys = [r[0] for r in conn.execute("SELECT blob_key FROM samples ORDER BY id")]
        names = {r[0] for r in conn.execute("SELECT name FROM artifacts")}
    assert len(keys) == 5 and len(set(keys)) == 4 and keys[1] == keys[2]
    assert all((fresh / "blobs" / k).is_file() for k in keys)
    assert "library.zip" in names


def _damaged(source: Path, tmp_path: Path, how: str) -> Path:
    with zipfile.ZipFile(source) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    sample_file = next(n for n in files if n.startswith("samples/"))
    if how == "hash":
        files[sample_file] = files[sample_file].replace(b"accX", b"accQ")
    elif how == "missing":
        del files[sample_file]
    elif how == "version":
        manifest["format_version"] = 2
        files["manifest.json"] = json.dumps(manifest).encode()
    elif how == "not-a-zip":
        path = tmp_path / "junk.zip"
        path.write_bytes(b"this is not a zip")
        return path
    path = tmp_path / f"{how}.zip"
    path.write_bytes(project_export.zip_bytes(files))
    return path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_damaged_export_is_refused_and_creates_nothing(settings, store, make_project, tmp_path):
    project_id = fill(settings, store, make_project("exported").project.id)
    good = tmp_path / "good.zip"
    with session_scope(settings) as s:
        project_export.export_project(s, store, s.get(Project, project_id), good)
    target = tmp_path / "target"
    run(["db", "upgrade"], target)
    expected = {
        "hash": "hash mismatch: samples/",
        "missing": "missing file: samples/",
        "version": "export format version 2 is not supported",
        "not-a-zip": "not a readable zip file",
    }
    for how, message in expected.items():
        proc = run(["import", str(_damaged(good, tmp_path, how))], target, check=False)
        assert proc.returncode == 1, proc.stdout
        assert "Error: import refused, nothing created: " + message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    db = target / "tinyforge.sqlite"
    assert [_count(db, t) for t in ("projects", "samples", "impulses", "artifacts")] == [0] * 4
    assert [p for p in target.rglob("*") if "blobs" in p.parts and p.is_file()] == []


def test_a_failure_halfway_leaves_no_rows_and_no_blobs(settings, store, make_project, tmp_path):
    project_id = fill(settings, store, make_project("exported").project.id)
    with session_scope(settings) as s:
        files = project_export.project_snapshot(s, store, s.get(Project, project_id))
    # the last artifact points to an impulse that is not there: found after every sample's blob
    # and the first artifact's blob are written
    arts = json.loads(files["artifacts.json"])
    arts[-1]["impulse_ref"] = 9
    files["artifacts.json"] = json.dumps(arts).encode()
    before = set(store.iter_keys("projects"))
    with session_scope(settings) as s:
        n_projects = s.scalar(select(func.count()).select_from(Project))
    refused = pytest.raises(project_export.ImportFailed, match="impulse ref 9 is not in impulses")
    with refused, session_scope(settings) as s:
        project_export.import_project(s, store, files, owner=None)
    assert set(store.iter_keys("projects")) == before
    with session_scope(settings) as s:
        assert s.scalar(select(func.count()).select_from(Project)) == n_projects
        for model in (Sample, Impulse, Artifact):
            rows = s.scalars(select(model).where(model.project_id != project_id)).all()
            assert rows == []


def test_read_export_checks_the_manifest_before_anything(tmp_path):
    files = {"project.json": b"{}", "samples.json": b"[]"}
    manifest = {"format": "tinyforge-project", "format_version": 1, "files": {}}
    files["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(project_export.ImportFailed, match="not listed in the manifest"):
        project_export.read_export(io.BytesIO(project_export.zip_bytes(files)))
    files["manifest.json"] = json.dumps({"format": "something-else"}).encode()
    with pytest.raises(project_export.ImportFailed, match="does not describe"):
        project_export.read_export(io.BytesIO(project_export.zip_bytes(files)))


def test_version_commands(tmp_path):
    data = tmp_path / "d"
    run(["project", "create", "--name", "Walks"], data)
    out = run(["version", "create", "1", "-m", "empty start"], data).stdout
    assert "project 1 version 1: 0 samples, 0 impulses, 0 artifacts" in out
    listed = run(["version", "list", "1"], data).stdout.splitlines()
    assert len(listed) == 1 and listed[0].startswith("1\t") and listed[0].endswith("empty start")
    out = run(["version", "restore", "1", "1"], data).stdout
    assert "project 2 restored from version 1 of project 1" in out
    proc = run(["version", "restore", "1", "5"], data, check=False)
    assert proc.returncode == 1 and "version 5 does not exist in project 1" in proc.stderr
    with sqlite3.connect(data / "tinyforge.sqlite") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM projects ORDER BY id")]
    assert names == ["Walks", "Walks (version 1)"]
