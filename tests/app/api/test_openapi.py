"""/docs documents every JSON request body with a schema and an example, and the examples are
valid."""

from __future__ import annotations

import pytest

from app.schemas.dsp import DspRunRequest
from app.schemas.impulses import ImpulseCreate, ImpulseUpdate
from app.schemas.jobs import BuildRequest, GenerateFeaturesRequest, LearnJobRequest, WaitRequest
from app.schemas.learning import ClassifyRequest
from app.schemas.projects import ProjectSettings
from app.schemas.samples import LabelBody, MoveBody, RenameBody
from tests.app.api.helpers import key

BODIES = [
    ImpulseCreate,
    ImpulseUpdate,
    WaitRequest,
    GenerateFeaturesRequest,
    LearnJobRequest,
    BuildRequest,
    DspRunRequest,
    ClassifyRequest,
    ProjectSettings,
    LabelBody,
    MoveBody,
    RenameBody,
]


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    from app.core.config import Settings
    from app.main import create_app

    return create_app(
        Settings(environment="test", data_dir=tmp_path_factory.mktemp("openapi"))
    ).openapi()


def _schemas(spec: dict, schema: dict) -> list[dict]:
    """The schema(s) a request body may take, references resolved (null alternatives dropped)."""
    if "$ref" in schema:
        return [spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]]
    if "anyOf" in schema:
        return [
            s for alt in schema["anyOf"] if alt.get("type") != "null" for s in _schemas(spec, alt)
        ]
    return [schema]


def json_bodies(spec: dict) -> list[tuple[str, dict, list[dict]]]:
    out = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            media = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if media is not None:
                out.append(
                    (f"{method.upper()} {path}", media, _schemas(spec, media.get("schema", {})))
                )
    return out


def test_every_json_request_body_has_a_schema_with_an_example(spec):
    bodies = json_bodies(spec)
    assert {
        "POST /api/{projectId}/impulses",
        "PUT /api/{projectId}/impulses/{impulseId}",
        "POST /api/{projectId}/jobs/train",
        "POST /api/{projectId}/jobs/test",
        "POST /api/{projectId}/jobs/generate-features",
        "POST /api/{projectId}/jobs/build-ondevice-model",
    } <= {name for name, _, _ in bodies}
    undocumented = [
        name
        for name, media, schemas in bodies
        if not schemas
        or not all(s.get("properties") for s in schemas)
        or not (media.get("examples") or any(s.get("examples") for s in schemas))
    ]
    assert undocumented == []


def test_the_impulse_schema_documents_its_blocks(spec):
    schemas = spec["components"]["schemas"]
    impulse = schemas["ImpulseCreate"]
    assert impulse["examples"][0]["dsp"] and set(impulse["required"]) == {"input", "dsp"}
    inputs = [ref["$ref"].rsplit("/", 1)[1] for ref in impulse["properties"]["input"]["anyOf"]]
    assert [schemas[name]["title"] for name in inputs] == ["Time-series input", "Image input"]
    resize = schemas["ImageInputBlock"]["properties"]["resize_mode"]
    assert resize["enum"] == ["squash", "fit-short", "fit-long"]
    learn = schemas["LearnBlockSpec"]["properties"]["type"]
    assert learn["enum"] == ["classification", "regression", "anomaly-kmeans", "anomaly-gmm"]


@pytest.mark.parametrize("model", BODIES, ids=lambda m: m.__name__)
def test_each_example_is_a_valid_body(model):
    examples = model.model_config["json_schema_extra"]["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)


def test_the_impulse_examples_are_accepted_by_the_api(client, make_project):
    p = make_project()
    for example in ImpulseCreate.model_config["json_schema_extra"]["examples"]:
        r = client.post(f"/api/{p.project.id}/impulses", json=example, headers=key(p.api_key))
        assert r.status_code == 200, (example["name"], r.text)
