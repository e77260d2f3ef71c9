"""RFC 9457 problem details: the one error shape of every Bazaar endpoint (contract §2)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional

from bazaar.domain.errors import Conflict, DomainError, Forbidden, InvalidRequest, NotFound, PreconditionFailed

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

PROBLEM_JSON = "application/problem+json"

# The status of each domain failure, for every route (the resolver's and the lean read routes').
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    PreconditionFailed: 412,
    InvalidRequest: 422,
}


def problem_body(status: int, detail: str, *, title: Optional[str] = None,
                 errors: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem(status: int, detail: str, *, title: Optional[str] = None,
            errors: Optional[list[dict[str, Any]]] = None, headers: Optional[dict[str, str]] = None) -> "Response":
    # Imported here: the platform routes build their (rare) problems with problem_result, without the resolver.
    from aws_lambda_powertools.event_handler import Response

    return Response(status, PROBLEM_JSON, json.dumps(problem_body(status, detail, title=title, errors=errors)),
                    headers=headers)


def problem_result(status: int, detail: str, **kw: Any) -> dict[str, Any]:
    """A raw API Gateway v2 result, for answers given before the resolver runs (size limit, authorization)."""
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON},
            "body": json.dumps(problem_body(status, detail, **kw)), "isBase64Encoded": False}
