"""Issue 10 item 7: login throttling holds across web processes."""

from __future__ import annotations


def test_failures_seen_by_one_web_process_count_in_another(settings, make_user):
    """`serve --workers 2` allowed 10 tries: each process kept its own count. Two apps on the same
    database stand for two processes."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.app.web.conftest import sign_in

    _, email = make_user()
    a, b = TestClient(create_app(settings)), TestClient(create_app(settings))
    for i in range(5):
        assert sign_in(a if i % 2 else b, email, "wrong password").status_code == 401
    for c in (a, b):
        r = sign_in(c, email, "wrong password")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
