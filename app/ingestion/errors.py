"""The one error type every ingestion decoder raises: an HTTP status and a sentence naming the
problem."""

from __future__ import annotations


class IngestionError(Exception):
    """A rejected upload.

    `status` is the HTTP status the route should answer with:
    400 malformed body, 401 bad or (when required) missing signature, 409 duplicate,
    413 too large, 415 unsupported type. `message` is one sentence naming the problem.
    """

    status: int
    message: str

    def __init__(self, status: int, message: str) -> None:
        message = message.strip()
        while message.endswith("..") and not message.endswith("..."):
            message = message[:-1]  # "...: Truncated File Read.." from a library's own sentence
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"IngestionError({self.status}, {self.message!r})"


def malformed(message: str) -> IngestionError:
    return IngestionError(400, message)


def unauthorized(message: str) -> IngestionError:
    return IngestionError(401, message)


def too_large(message: str) -> IngestionError:
    return IngestionError(413, message)


def unsupported(message: str) -> IngestionError:
    return IngestionError(415, message)
