"""LoginThrottle: per account and address, per address, sliding window, success clears."""

from __future__ import annotations

from app.services.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_account_from_that_address_until_the_window_slides():
    clock = Clock()
    t = LoginThrottle(per_account=5, per_address=30, window_s=300, clock=clock)
    for _ in range(5):
        assert t.retry_after("1.2.3.4", "Ada@Example.com") == 0
        t.failed("1.2.3.4", "ada@example.com ")
        clock.now += 10
    assert (
        t.retry_after("1.2.3.4", "ADA@example.com") == 300 - 50
    )  # the first failure ages out then
    assert t.retry_after("5.6.7.8", "ada@example.com") == 0  # another address is not locked out
    assert t.retry_after("1.2.3.4", "bob@example.com") == 0
    clock.now += 251
    assert t.retry_after("1.2.3.4", "ada@example.com") == 0


def test_many_accounts_from_one_address_lock_the_address_and_success_clears_the_account():
    clock = Clock()
    t = LoginThrottle(per_account=5, per_address=6, window_s=60, clock=clock)
    for i in range(6):
        t.failed("9.9.9.9", f"user{i}@example.com")
    assert t.retry_after("9.9.9.9", "new@example.com") == 60
    t2 = LoginThrottle(per_account=3, clock=clock)
    t2.failed("a", "x")
    t2.failed("a", "x")
    t2.succeeded("a", "x")
    t2.failed("a", "x")
    assert t2.retry_after("a", "x") == 0


def test_the_record_stays_bounded():
    t = LoginThrottle(max_keys=100)
    for i in range(1000):
        t.failed(f"10.0.{i // 256}.{i % 256}", "x")
    assert len(t._failures) <= 102
