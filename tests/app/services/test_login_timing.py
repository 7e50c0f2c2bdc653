"""Issue 10 item 7: a sign-in with an unknown email costs as much as one with a wrong password."""

from __future__ import annotations

import statistics
import time

from app.services import users


def _median_s(fn, n: int = 7) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_unknown_email_and_wrong_password_take_the_same_time(session, backend):
    users.create_user(session, email="ada@example.com", password="correct horse battery")
    session.flush()

    def wrong() -> None:
        assert users.authenticate(session, email="ada@example.com", password="nope nope") is None

    def unknown() -> None:
        assert users.authenticate(session, email="eve@example.com", password="nope nope") is None

    unknown()  # the dummy hash is made on first use
    t_wrong, t_unknown = _median_s(wrong), _median_s(unknown)
    print(f"wrong password {t_wrong * 1000:.1f} ms, unknown email {t_unknown * 1000:.1f} ms")
    assert 0.5 < t_unknown / t_wrong < 2.0
