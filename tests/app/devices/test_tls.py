"""`tinyforge serve --tls-cert/--tls-key`: HTTPS and WSS, as phones need for their sensors."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys

import httpx
import pytest
from websockets.sync.client import connect

from app.demo import free_port
from tests.app.devices.servers import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_phone_page_and_remote_management_over_tls(settings, make_project, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    project = make_project("tls")
    server = ServerProcess(
        settings,
        host="127.0.0.1",
        port=free_port(),
        log_path=tmp_path / "server.log",
        extra_args=("--tls-cert", str(cert), "--tls-key", str(key)),
        scheme="https",
    )
    try:
        assert server.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        page = httpx.get(server.url + "/phone", verify=context)
        assert page.status_code == 200 and "/static/js/phone.js" in page.text
        with connect(
            server.url.replace("https://", "wss://") + "/api/remote-management", ssl=context
        ) as ws:
            ws.send(
                json.dumps(
                    {"hello": {"apiKey": project.api_key, "deviceId": "phone-1", "sensors": []}}
                )
            )
            assert json.loads(ws.recv(timeout=5)) == {"hello": True}
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url.replace("https://", "http://") + "/api/health", timeout=3)
    finally:
        server.stop()
    half = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--tls-cert", str(cert)],
        capture_output=True,
        text=True,
    )
    assert half.returncode == 2 and "--tls-cert and --tls-key go together" in half.stderr
