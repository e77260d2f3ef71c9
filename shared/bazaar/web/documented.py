"""What a route declares it answers, in Powertools' ``responses=`` shape: one helper per kind of answer.

A handler declares its own outcomes (its success, and the domain errors its service raises); ``bazaar.web.openapi``
adds the statuses every route gets from the shared edge (``bazaar.web.edge``: 400, 401, 403, 413, 415, 422) and
checks that nothing is left undeclared. Light on purpose: route functions import it at cold start.
"""

from __future__ import annotations

from typing import Any, Optional

from bazaar.web.problems import PROBLEM_JSON

PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}

ETAG = {"ETag": {"description": "Strong validator of this representation (`\"<id>.<version>.<stock>\"`: an order "
                                "moves the stock without a new version); send it as If-Match, which compares "
                                "its version",
                 "required": True, "schema": {"type": "string"}}}
CACHE_STATUS = {"X-Cache": {"description": "Whether the read was served from the cache",
                            "required": True, "schema": {"type": "string", "enum": ["HIT", "MISS"]}}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
LOCATION = {"Location": {"description": "Path of the created resource", "required": True,
                         "schema": {"type": "string"}}}


def ok(description: str, model: Any = None, *, media_type: str = "application/json",
       schema: Optional[dict[str, Any]] = None, headers: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A success with a body: ``model`` (a pydantic model), or an explicit JSON ``schema``, or (neither) the
    handler's return annotation."""
    response: dict[str, Any] = {"description": description}
    if model is not None:
        response["content"] = {media_type: {"model": model}}
    elif schema is not None:
        response["content"] = {media_type: {"schema": schema}}
    if headers:
        response["headers"] = headers
    return response


def no_body(description: str, *, headers: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A success without a body (204, 304): no content at all, not an empty JSON document."""
    response: dict[str, Any] = {"description": description, "content": {}}
    if headers:
        response["headers"] = headers
    return response


def problem(description: str, *, headers: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """An error answered as RFC 9457 problem details (contract §2)."""
    response: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA_REF}}}
    if headers:
        response["headers"] = headers
    return response
