"""RFC 9457 problem details: the one error shape of every Bazaar endpoint (contract §2)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional

from bazaar.domain.errors import (Conflict, DomainError, Forbidden, InvalidRequest, NotFound, PreconditionFailed,
                                  Unavailable)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

PROBLEM_JSON = "application/problem+json"

# The status of each domain failure, for every route (the lean routes' and the resolver that documents them).
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    PreconditionFailed: 412,
    InvalidRequest: 422,
    Unavailable: 503,
}


def status_of(ex: DomainError) -> int:
    """The status of a domain error or of its nearest mapped base class (e.g. a stock shortage is a Conflict)."""
    for cls in type(ex).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def problem_body(status: int, detail: str, *, title: Optional[str] = None,
                 errors: Optional[list[dict[str, Any]]] = None,
                 extensions: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        **(extensions or {}),  # RFC 9457 extension members (e.g. which order lines lack stock); never override
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem(status: int, detail: str, *, title: Optional[str] = None,
            errors: Optional[list[dict[str, Any]]] = None, headers: Optional[dict[str, str]] = None,
            extensions: Optional[dict[str, Any]] = None) -> "Response":
    # Imported here: the platform routes build their (rare) problems with problem_result, without the resolver.
    from aws_lambda_powertools.event_handler import Response

    return Response(status, PROBLEM_JSON, json.dumps(problem_body(status, detail, title=title, errors=errors,
                                                                  extensions=extensions)),
                    headers=headers)


def problem_result(status: int, detail: str, *, headers: Optional[dict[str, str]] = None,
                   **kw: Any) -> dict[str, Any]:
    """A raw API Gateway v2 result, for answers given before the route runs (size limit, authorization) and by
    the routes served without it."""
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON, **(headers or {})},
            "body": json.dumps(problem_body(status, detail, **kw)), "isBase64Encoded": False}


def domain_problem(ex: DomainError) -> dict[str, Any]:
    """How every route answers a domain error: the status of its class, its title (but a 400's), ``errors`` on a
    422 (contract §2 wants them there), ``Retry-After`` when a dependency asks to wait, and its extension members.
    Keyword arguments for ``problem`` / ``problem_result``, plus ``status`` and ``detail``."""
    status = status_of(ex)
    return {"status": status, "detail": ex.detail, "title": ex.title if status != 400 else None,
            "errors": [{"loc": ["body"], "msg": ex.detail, "type": "value_error"}] if status == 422 else None,
            "headers": {"Retry-After": str(ex.retry_after_s)} if isinstance(ex, Unavailable) else None,
            "extensions": getattr(ex, "extensions", None)}
