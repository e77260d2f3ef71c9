"""Domain failures. The web layer maps each one to a problem+json status (bazaar.web.problems)."""

from __future__ import annotations


class DomainError(Exception):
    title = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    title = "Not Found"


class Forbidden(DomainError):
    title = "Forbidden"


class Conflict(DomainError):
    title = "Conflict"


class PreconditionFailed(DomainError):
    title = "Precondition Failed"


class InvalidRequest(DomainError):
    """A request that is well-formed but breaks a business rule on its values (422)."""

    title = "Unprocessable Content"


class Unavailable(DomainError):
    """A dependency is overloaded or down for now: 503 with ``Retry-After``; the request changed nothing."""

    title = "Service Unavailable"

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
