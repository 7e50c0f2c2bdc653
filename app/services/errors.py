"""Domain errors. Services raise these; the HTTP layer maps `.status` to the response code."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class TooMany(ServiceError):
    """Too many requests of a kind at once: answered 429 with Retry-After."""

    status = 429

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unsupported(ServiceError):
    status = 415


class Invalid(ServiceError):
    """A well-formed request whose content breaks a rule (a parameter out of range, ...).
    `errors`: every rule broken, each naming its field (`message` joins them)."""

    status = 422

    def __init__(self, message: str, *, status: int | None = None, errors: list[str] | None = None):
        super().__init__(message, status=status)
        self.errors = errors or [message]

    @classmethod
    def of(cls, errors: list[str]) -> Invalid:
        return cls("; ".join(errors), errors=errors)
