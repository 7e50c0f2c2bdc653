"""A small HTTP client for Tinyforge's API (the CLI's upload, the demo, benchmarks and tests use
it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

MEDIA = {
    ".json": "application/json",
    ".cbor": "application/cbor",
    ".wav": "audio/wav",
    ".csv": "text/csv",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class TinyforgeClient:
    def __init__(self, url: str, api_key: str, *, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers={"x-api-key": api_key}, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TinyforgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {"success": False, "error": response.text[:500]}
        if response.status_code >= 400 or body.get("success") is False and "files" not in body:
            raise ApiError(response.status_code, body.get("error", response.reason_phrase))
        return body

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._json(self.http.get(path, params=params))

    def post(self, path: str, json: Any = None) -> dict[str, Any]:
        return self._json(self.http.post(path, json=json))

    def project_id(self) -> int:
        return int(self.get("/api/projects")["projects"][0]["id"])

    def ingest(
        self,
        category: str,
        body: bytes,
        *,
        file_name: str,
        label: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        h = {"x-file-name": quote(file_name), "content-type": content_type, **(headers or {})}
        if label is not None:
            h["x-label"] = quote(label)
        return self._json(self.http.post(f"/api/{category}/data", content=body, headers=h))

    def upload_files(
        self,
        category: str,
        files: list[tuple[str, bytes]],
        *,
        label: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        h = dict(headers or {})
        if label is not None:
            h["x-label"] = quote(label)
        parts = [
            ("data", (name, data, MEDIA.get(Path(name).suffix.lower(), "application/octet-stream")))
            for name, data in files
        ]
        response = self.http.post(f"/api/{category}/files", files=parts, headers=h)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, response.text[:500]) from exc

    def wait_for_job(
        self, project_id: int, job_id: int, *, timeout: float = 3600, on_line=None
    ) -> dict[str, Any]:
        """Poll a job until it finishes, passing each new log line to `on_line`."""
        deadline, after = time.monotonic() + timeout, 0
        while True:
            for line in self.get(f"/api/{project_id}/jobs/{job_id}/stdout", after=after)["stdout"]:
                after = line["id"]
                if on_line:
                    on_line(line["data"])
            job = self.get(f"/api/{project_id}/jobs/{job_id}/status")["job"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                for line in self.get(f"/api/{project_id}/jobs/{job_id}/stdout", after=after)[
                    "stdout"
                ]:
                    if on_line:
                        on_line(line["data"])
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"job {job_id} did not finish within {timeout:.0f} s (status {job['status']})"
                )
            time.sleep(0.3)


def upload_files(
    url: str,
    api_key: str,
    files: list[Path],
    *,
    category: str,
    label: str | None,
    disallow_duplicates: bool,
    batch: int = 20,
) -> Iterator[dict[str, Any]]:
    """Upload files in batches; yield one result per file ({success, fileName, error?,
    sampleId?})."""
    headers = {"x-disallow-duplicates": "1"} if disallow_duplicates else {}
    with TinyforgeClient(url, api_key) as client:
        for i in range(0, len(files), max(1, batch)):
            chunk = files[i : i + batch]
            try:
                body = client.upload_files(
                    category,
                    [(f.name, f.read_bytes()) for f in chunk],
                    label=label,
                    headers=headers,
                )
            except (httpx.HTTPError, ApiError) as exc:
                for f in chunk:
                    yield {"success": False, "fileName": f.name, "error": str(exc)}
                continue
            results = body.get("files") or []
            if not results:
                for f in chunk:
                    yield {
                        "success": False,
                        "fileName": f.name,
                        "error": body.get("error", "no result"),
                    }
            yield from results
