"""LoginThrottle: per account and address, per address, sliding window, success clears; counted
in the database, so every web process sees every failure (issue 10 item 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.models import LoginFailure
from app.services.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_five_failures_lock_the_account_from_that_address_until_the_window_slides(session):
    clock = Clock()
    t = LoginThrottle(per_account=5, per_address=30, window_s=300, clock=clock)
    for _ in range(5):
        assert t.retry_after(session, "1.2.3.4", "Ada@Example.com") == 0
        t.failed(session, "1.2.3.4", "ada@example.com ")
        clock.advance(10)
    # the first failure ages out 300 s after it happened, 250 s from now
    assert t.retry_after(session, "1.2.3.4", "ADA@example.com") == 300 - 50
    assert t.retry_after(session, "5.6.7.8", "ada@example.com") == 0  # another address
    assert t.retry_after(session, "1.2.3.4", "bob@example.com") == 0
    clock.advance(251)
    assert t.retry_after(session, "1.2.3.4", "ada@example.com") == 0


def test_many_accounts_from_one_address_lock_the_address_and_success_clears_the_account(session):
    clock = Clock()
    t = LoginThrottle(per_account=5, per_address=6, window_s=60, clock=clock)
    for i in range(6):
        t.failed(session, "9.9.9.9", f"user{i}@example.com")
    assert t.retry_after(session, "9.9.9.9", "new@example.com") == 60
    t2 = LoginThrottle(per_account=3, clock=clock)
    t2.failed(session, "a", "x")
    t2.failed(session, "a", "x")
    t2.succeeded(session, "a", "x")
    t2.failed(session, "a", "x")
    assert t2.retry_after(session, "a", "x") == 0


def test_the_record_stays_bounded_to_the_window(session):
    clock = Clock()
    t = LoginThrottle(window_s=60, clock=clock)
    for i in range(200):
        t.failed(session, f"10.0.0.{i}", "x")
        clock.advance(1)
    rows = session.scalar(select(func.count()).select_from(LoginFailure))
    assert rows <= 2 * 61
