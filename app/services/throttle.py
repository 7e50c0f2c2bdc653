"""Failed sign-in throttling, counted in the database so that every web process sees every failure.

Keys are (client address, email) — five failures in five minutes lock that pair — and the client
address alone — thirty failures lock every account from it — so guessing one account's password
and spraying many accounts from one address are both slowed, while the real user signing in
from elsewhere is not locked out by someone else's guessing. Each failure is a `login_failures`
row written in the sign-in request's transaction; rows older than the window are deleted as new
ones arrive, so the table stays as small as the recent failures. It is a brake on guessing, not an
audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import LoginFailure
from app.models.base import utcnow


def _keys(address: str, email: str) -> tuple[str, str]:
    return f"account:{address}|{email.strip().lower()}"[:400], f"address:{address}"[:400]


class LoginThrottle:
    def __init__(
        self,
        *,
        per_account: int = 5,
        per_address: int = 30,
        window_s: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.per_account, self.per_address, self.window_s = per_account, per_address, window_s
        self._clock = clock

    def retry_after(self, session: Session, address: str, email: str) -> float:
        """Seconds until this address may try this account again (0: it may now)."""
        now = self._clock()
        horizon = now - timedelta(seconds=self.window_s)
        waits = [0.0]
        for key, limit in zip(
            _keys(address, email), (self.per_account, self.per_address), strict=True
        ):
            recent = (
                select(LoginFailure.failed_at)
                .where(LoginFailure.key == key, LoginFailure.failed_at > horizon)
                .order_by(LoginFailure.failed_at.desc())
            )
            if (session.scalar(select(func.count()).select_from(recent.subquery())) or 0) < limit:
                continue
            oldest_counted = session.scalar(recent.offset(limit - 1).limit(1))
            if oldest_counted is not None:
                left = (oldest_counted - horizon).total_seconds()
                waits.append(max(0.0, left))
        return max(waits)

    def failed(self, session: Session, address: str, email: str) -> None:
        now = self._clock()
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.failed_at < now - timedelta(seconds=self.window_s)
            )
        )
        session.add_all(LoginFailure(key=key, failed_at=now) for key in _keys(address, email))
        session.flush()

    def succeeded(self, session: Session, address: str, email: str) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.key == _keys(address, email)[0]))
