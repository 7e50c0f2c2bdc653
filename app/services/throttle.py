"""Failed sign-in throttling: a bounded in-memory record of recent failures per key.

Keys are (client address, email) — five failures in five minutes lock that pair — and the client
address alone — thirty failures lock every account from it — so guessing one account's password
and spraying many accounts from one address are both slowed, while the real user signing in
from elsewhere is not locked out by someone else's guessing. The record lives in each web process
(several uvicorn workers each keep their own); it is a brake on guessing, not an audit log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self,
        *,
        per_account: int = 5,
        per_address: int = 30,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ):
        self.per_account, self.per_address, self.window_s = per_account, per_address, window_s
        self._clock, self._max_keys = clock, max_keys
        self._failures: dict[tuple[str, ...], deque[float]] = {}

    def _recent(self, key: tuple[str, ...]) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, address: str, email: str) -> float:
        """Seconds until this address may try this account again (0: it may now)."""
        waits = [0.0]
        for key, limit in (
            ((address, email.strip().lower()), self.per_account),
            ((address,), self.per_address),
        ):
            times = self._recent(key)
            if len(times) >= limit:
                waits.append(times[len(times) - limit] + self.window_s - self._clock())
        return max(waits)

    def failed(self, address: str, email: str) -> None:
        if len(self._failures) > self._max_keys:  # bounded: forget the oldest records first
            for key in list(self._failures)[: self._max_keys // 2]:
                del self._failures[key]
        now = self._clock()
        for key in ((address, email.strip().lower()), (address,)):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, address: str, email: str) -> None:
        self._failures.pop((address, email.strip().lower()), None)
