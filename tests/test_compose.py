"""docker-compose.yml parses, describes api/worker/postgres/redis with health checks, and runs real
commands.

No Docker engine runs here, so the file is checked, not started.
"""

from __future__ import annotations

import shlex

import yaml
from click.testing import CliRunner

from app.cli import main
from tests.paths import REPO_ROOT


def test_compose_file_describes_the_scaled_out_deployment():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"api", "worker", "postgres", "redis"} <= set(services)
    for name in ("api", "worker", "postgres", "redis"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    env = services["api"]["environment"]
    assert env["TINYFORGE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["TINYFORGE_BROKER_URL"].startswith("redis://")
    assert services["worker"]["environment"] == env
    assert (REPO_ROOT / services["api"]["build"] / "Dockerfile").exists()
    runner = CliRunner()
    for name, svc in services.items():
        command = svc.get("command")
        if not command or command[0] != "tinyforge":
            continue
        args = command[1:] if isinstance(command, list) else shlex.split(command)[1:]
        sub = [a for a in args if not a.startswith("-")][:2]
        result = runner.invoke(main, [*sub[: 2 if sub[0] == "db" else 1], "--help"])
        assert result.exit_code == 0, (
            f"service {name}: `tinyforge {' '.join(sub)}` does not exist: {result.output}"
        )


def test_compose_keeps_blobs_in_minio_and_shares_no_volume_between_tinyforge_containers():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "healthcheck" in services["minio"]
    env = services["api"]["environment"]
    assert env["TINYFORGE_STORAGE_URL"].startswith("s3://")
    bucket = env["TINYFORGE_STORAGE_URL"][len("s3://") :].split("/")[0]
    assert env["TINYFORGE_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "TINYFORGE_STORAGE_DIR" not in env
    assert f"/{bucket}" in " ".join(services["minio-init"]["command"])  # the bucket is made
    tinyforge = [n for n, s in services.items() if s.get("build")]
    assert {"api", "worker", "migrate", "storage-check"} <= set(tinyforge)
    for name in tinyforge:
        assert not services[name].get("volumes"), f"{name} mounts a volume: {services[name]}"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["storage-check"] == {
            "condition": "service_completed_successfully"
        }
    assert services["storage-check"]["command"] == ["tinyforge", "storage", "check"]
