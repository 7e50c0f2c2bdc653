"""Artifacts: named, stored, replaced and found in one place; blobs follow the fate of their
rows."""

from __future__ import annotations

import pytest

from app.core.db import session_scope
from app.models import Sample
from app.schemas.impulses import ImpulseCreate
from app.services import artifacts
from app.services import impulses as impulse_service
from app.services.errors import NotFound

DESIGN = {
    "input": {"type": "time-series", "frequency_hz": 100},
    "dsp": [{"block": "flatten"}],
    "learn": [{"id": 7, "type": "classification"}],
}


@pytest.fixture
def impulse_id(settings, make_project) -> int:
    p = make_project()
    with session_scope(settings) as s:
        return impulse_service.create_impulse(
            s, p.project.id, ImpulseCreate.model_validate(DESIGN)
        ).id


def _impulse(session, impulse_id: int):
    from app.models import Impulse

    return session.get(Impulse, impulse_id)


def test_a_new_feature_set_replaces_the_old_one_and_its_blob_goes_on_commit(
    settings, store, impulse_id
):
    with session_scope(settings) as s:
        first = artifacts.save_features(
            s, store, _impulse(s, impulse_id), 1, b"one", {"rows": 1}, None
        )
        first_key = first.blob_key
    with session_scope(settings) as s:
        impulse = _impulse(s, impulse_id)
        second = artifacts.save_features(s, store, impulse, 1, b"two", {"rows": 2}, None)
        assert store.exists(first_key), "the old blob stays until the replacement commits"
        second_key = second.blob_key
    assert not store.exists(first_key) and store.get(second_key) == b"two"
    with session_scope(settings) as s:
        impulse = _impulse(s, impulse_id)
        found = artifacts.feature_artifact(s, impulse, 1)
        assert found.name == f"features-impulse{impulse_id}-dsp1.npz"
        assert found.meta == {"rows": 2, "dsp_id": 1}
        assert found.blob_key.startswith(f"projects/{impulse.project_id}/artifacts/features/")
        with pytest.raises(NotFound, match="run generate-features"):
            artifacts.feature_artifact(s, impulse, 1, kind=artifacts.FEATURE_EXPLORER)


def test_a_rolled_back_artifact_leaves_no_blob(settings, store, impulse_id):
    with pytest.raises(RuntimeError), session_scope(settings) as s:
        art = artifacts.save_learn_artifact(
            s, store, _impulse(s, impulse_id), 7, "tflite-int8", b"model", revision=1, job_id=None
        )
        key = art.blob_key
        assert store.exists(key)
        raise RuntimeError("the job failed after storing")
    assert not store.exists(key)
    with (
        session_scope(settings) as s,
        pytest.raises(NotFound, match="no tflite-int8 yet: train it first"),
    ):
        artifacts.learn_artifact(s, _impulse(s, impulse_id), 7, "tflite-int8")


def test_a_learning_blocks_artifacts_are_named_and_found_by_block(settings, store, impulse_id):
    with session_scope(settings) as s:
        impulse = _impulse(s, impulse_id)
        for kind in ("tflite-int8", "training-results"):
            artifacts.save_learn_artifact(
                s, store, impulse, 7, kind, b"{}", revision=3, job_id=None
            )
        artifacts.save_features(s, store, impulse, 1, b"x", {}, None)
    with session_scope(settings) as s:
        impulse = _impulse(s, impulse_id)
        names = sorted(a.name for a in artifacts.learn_artifacts(s, impulse, 7))
        assert names == [
            f"tflite-int8-impulse{impulse_id}-learn7.tflite",
            f"training-results-impulse{impulse_id}-learn7.json",
        ]
        results = artifacts.learn_artifact(s, impulse, 7, "training-results")
        assert results.meta == {"learn_id": 7, "revision": 3}
        assert len(artifacts.impulse_artifacts(s, impulse)) == 3


def test_deleting_an_impulse_deletes_its_blobs_after_the_commit(settings, store, impulse_id):
    with session_scope(settings) as s:
        key = artifacts.save_features(s, store, _impulse(s, impulse_id), 1, b"x", {}, None).blob_key
    with session_scope(settings) as s:
        impulse_service.delete_impulse(s, store, _impulse(s, impulse_id))
        assert store.exists(key)
    assert not store.exists(key)


def test_uploaded_models_and_deployments_belong_to_their_project(settings, store, make_project):
    a, b = make_project("a").project.id, make_project("b").project.id
    with session_scope(settings) as s:
        model = artifacts.save_uploaded_model(s, store, a, "kws.tflite", b"tfl3", {"kind": "int8"})
        built = [
            artifacts.save_deployment(
                s,
                store,
                project_id=a,
                impulse_id=None,
                job_id=None,
                name=f"lib{i}.zip",
                data=b"zip",
                meta={"target": "linux-x86_64"},
            )
            for i in range(2)
        ]
        model_id, newest = model.id, built[-1].id
        assert model.blob_key.startswith(f"projects/{a}/models/") and built[0].blob_key.startswith(
            f"projects/{a}/deployments/"
        )
    with session_scope(settings) as s:
        assert artifacts.uploaded_model(s, a, model_id).name == "kws.tflite"
        with pytest.raises(
            NotFound, match=f"uploaded model {model_id} does not exist in project {b}"
        ):
            artifacts.uploaded_model(s, b, model_id)
        assert artifacts.latest_deployment(s, a).id == newest
        assert [d.id for d in artifacts.deployments(s, a)] == [newest, newest - 1]
        with pytest.raises(NotFound, match="no deployment has been built yet"):
            artifacts.latest_deployment(s, b)


def test_feature_cache_keys_of_one_configuration_share_a_folder():
    sample = Sample(id=5, content_hash="ab" * 32)
    config = "c" * 64
    keys = [
        artifacts.feature_cache_key(3, config, sample),
        artifacts.feature_shape_key(3, config),
        artifacts.window_shape_key(3, config),
    ]
    folder = f"projects/3/features/{'c' * 24}"
    assert keys == [
        f"{folder}/samples/5-{'ab' * 8}.npy",
        f"{folder}/shape.json",
        f"{folder}/window.json",
    ]
