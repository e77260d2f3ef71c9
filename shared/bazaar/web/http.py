"""Builds each route function's resolver and Lambda entry point, with the behaviour every route shares.

Order of checks, cheapest and most fundamental first (before any body is parsed):
1. body over 64 KiB -> 413;
2. the caller's groups against the manifest route's groups -> 401 (no identity) / 403;
3. Powertools resolves the route: request validation (400 for malformed JSON/query/header, 422 for the body),
   then the handler; domain errors become problem+json;
4. state-changing requests write one audit record.
"""

from __future__ import annotations

import base64
from typing import Any, Callable, Mapping, Optional

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ResponseValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest
from bazaar.domain.errors import Conflict, DomainError, Forbidden, InvalidRequest, NotFound, PreconditionFailed
from bazaar.domain.identity import Actor
from bazaar.observability import logger, metrics, tracer
from bazaar.settings import MAX_BODY_BYTES
from bazaar.web.audit import audit
from bazaar.web.cursors import BadCursor
from bazaar.web.identity import actor_of
from bazaar.web.problems import problem, problem_result

STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    PreconditionFailed: 412,
    InvalidRequest: 422,
}
_BAD_REQUEST_LOCATIONS = ("query", "header", "path", "cookie")


def _validation_problem(ex: RequestValidationError) -> Response:
    errors = ex.errors()
    malformed = any(e.get("type") == "json_invalid" or (e.get("loc") or ("",))[0] in _BAD_REQUEST_LOCATIONS
                    for e in errors)
    status = 400 if malformed else 422
    detail = "the request is malformed" if status == 400 else "the request body failed validation"
    # Only loc/msg/type: never echo the rejected input back (it may be huge or sensitive).
    shaped = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid value"), "type": e.get("type", "")}
              for e in errors]
    return problem(status, detail, errors=shaped)


def make_app() -> APIGatewayHttpResolver:
    """A resolver with Bazaar's error mapping. Routes are added by the function's handler module."""
    app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
    app.exception_handler(RequestValidationError)(_validation_problem)

    @app.exception_handler(ResponseValidationError)
    def _bad_response(ex: ResponseValidationError) -> Response:
        # Our bug, never the client's: log what failed (locations only, no values) and answer 500.
        logger.error("response failed validation", extra={"errors": [e.get("loc") for e in ex.errors()]})
        return problem(500, "the server produced an invalid response")

    @app.exception_handler(DomainError)
    def _domain_problem(ex: DomainError) -> Response:
        status = STATUS_OF.get(type(ex), 400)
        return problem(status, ex.detail, title=ex.title if status != 400 else None)

    @app.exception_handler(BadCursor)
    def _bad_cursor(ex: BadCursor) -> Response:
        return problem(400, str(ex), title="Bad Request")

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return problem(404, "no such route")

    return app


def current_actor(app: APIGatewayHttpResolver) -> Actor:
    actor = actor_of(app.current_event.raw_event)
    if actor is None:  # the entry point already answered 401; this guards direct resolver use
        raise Forbidden("authentication required")
    return actor


def _body_size(event: Mapping[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))


def _audit_resource(event: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return headers.get("location") or event.get("rawPath") or "-"


def http_handler(function_name: str, app: APIGatewayHttpResolver) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of route function ``function_name`` (its manifest entry gives the auth rule)."""
    fn = manifest.get(function_name)
    route = fn.route
    if route is None:
        raise ValueError(f"{function_name} is not a route in the manifest")
    changes_state = route.method not in ("GET", "HEAD", "OPTIONS")

    def _guard(event: Mapping[str, Any]) -> tuple[Optional[Actor], Optional[dict]]:
        if _body_size(event) > MAX_BODY_BYTES:
            return None, problem_result(413, f"request body exceeds {MAX_BODY_BYTES} bytes")
        if route.public:
            return actor_of(event), None
        actor = actor_of(event)
        if actor is None:
            return None, problem_result(401, "a valid access token is required")
        if not actor.in_any(route.groups):
            return actor, problem_result(403, f"this action needs one of the groups: {', '.join(route.groups)}")
        return actor, None

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def handler(event: dict, context: LambdaContext) -> dict:
        actor, early = _guard(event)
        result = early if early is not None else app.resolve(event, context)
        status = int(result.get("statusCode", 200))
        if changes_state:
            audit(actor=actor.sub if actor else None, action=function_name, resource=_audit_resource(event, result),
                  status=status, request_id=(event.get("requestContext") or {}).get("requestId", "-"))
        if status >= 500:
            metrics.add_metric(name="ServerErrors", unit="Count", value=1)
        return result

    return handler


def decode_body(event: Mapping[str, Any]) -> str:
    body = event.get("body") or ""
    return base64.b64decode(body).decode() if event.get("isBase64Encoded") else body
