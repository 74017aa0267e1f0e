"""Domain errors. The API maps each kind to its HTTP status in one place (api/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    code = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class QueueRequired(Forbidden):
    """A protected on-sale's concert, booked without a valid admission from its waiting room
    (or before it opens): docs/queue.md."""

    code = "QUEUE_REQUIRED"


class Conflict(DomainError):
    code = "CONFLICT"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class InvalidCredentials(Unauthenticated):
    code = "INVALID_CREDENTIALS"


class ConcertStarted(Conflict):
    code = "CONCERT_STARTED"


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"


class RateLimited(DomainError):
    """Too many requests for one account or client address; retry after ``retry_after_s``."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
