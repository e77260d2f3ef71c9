"""Builds each route function's resolver and Lambda entry point, with the behaviour every route shares.

Order of checks, cheapest and most fundamental first (before any body is parsed):
1. body over 64 KiB -> 413;
2. the caller's groups against the manifest route's groups -> 401 (no identity) / 403; on a public route that
   proves its caller another way (the payment webhook's signature), that check instead;
3. on routes that take a body (POST, PUT, PATCH), when one is sent: a media type other than JSON -> 415, bytes
   that are not UTF-8 -> 400, a JSON array -> 422;
4. Powertools resolves the route: request validation (400 for malformed JSON/query/header, 422 for the body),
   then the handler; domain errors become problem+json. Every JSON body goes through ``bodies.loads``, so deep
   nesting and over-long integers are client errors too;
5. state-changing requests write one audit record.

``bazaar.web.openapi`` documents exactly these statuses for every route; keep the two in step.
"""

from __future__ import annotations

import base64
from typing import Any, Callable, Mapping, Optional

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (RequestUnsupportedContentType,
                                                                     RequestValidationError, ResponseValidationError)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest
from bazaar.domain.errors import DomainError, Forbidden
from bazaar.domain.identity import Actor
from bazaar.domain.ports import InvalidPosition
from bazaar.observability import logger, metrics, traced
from bazaar.settings import MAX_BODY_BYTES
from bazaar.web import bodies
from bazaar.web.audit import audit
from bazaar.web.cursors import BadCursor
from bazaar.web.identity import actor_of
from bazaar.web.limits import body_size
from bazaar.web.problems import domain_problem, problem, problem_result

_BAD_REQUEST_LOCATIONS = ("query", "header", "path", "cookie")
METHODS_WITH_BODY = ("POST", "PUT", "PATCH")


def _validation_problem(ex: RequestValidationError) -> Response:
    errors = ex.errors()
    malformed = any(e.get("type") == "json_invalid" or (e.get("loc") or ("",))[0] in _BAD_REQUEST_LOCATIONS
                    for e in errors)
    status = 400 if malformed else 422
    detail = "the request is malformed" if status == 400 else "the request body failed validation"
    # Only loc/msg/type: never echo the rejected input back (it may be huge or sensitive).
    shaped = [{"loc": list(e.get("loc", ())), "msg": _message(e), "type": e.get("type", "")} for e in errors]
    return problem(status, detail, errors=shaped)


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "json_invalid":  # the parser's reason ("Expecting ',' delimiter"), never the input
        reason = (error.get("ctx") or {}).get("error")
        if isinstance(reason, str) and reason:
            return f"invalid JSON: {reason}"
    return str(error.get("msg") or "invalid value")


def make_app(validation: bool = True) -> APIGatewayHttpResolver:
    """A resolver with Bazaar's error mapping. Routes are added by the function's handler module.

    ``validation=False`` for routes that take no input: it spares their cold start the validation machinery."""
    app = APIGatewayHttpResolver(enable_validation=validation,
                                 response_validation_error_http_code=500 if validation else None,
                                 json_body_deserializer=bodies.loads)
    app.exception_handler(RequestValidationError)(_validation_problem)

    @app.exception_handler(ResponseValidationError)
    def _bad_response(ex: ResponseValidationError) -> Response:
        # Our bug, never the client's: log what failed (locations only, no values) and answer 500.
        logger.error("response failed validation", extra={"errors": [e.get("loc") for e in ex.errors()]})
        return problem(500, "the server produced an invalid response")

    @app.exception_handler(DomainError)
    def _domain_problem(ex: DomainError) -> Response:
        answer = domain_problem(ex)
        return problem(answer.pop("status"), answer.pop("detail"), **answer)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_media_type(_: RequestUnsupportedContentType) -> Response:
        return problem(415, "the request body must be application/json")  # Powertools' own 415 is not problem+json

    @app.exception_handler([BadCursor, InvalidPosition])
    def _bad_cursor(ex: ValueError) -> Response:
        return problem(400, "malformed cursor" if isinstance(ex, InvalidPosition) else str(ex), title="Bad Request")

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return problem(404, "no such route")

    return app


def current_actor(app: APIGatewayHttpResolver) -> Actor:
    actor = actor_of(app.current_event.raw_event)
    if actor is None:  # the entry point already answered 401; this guards direct resolver use
        raise Forbidden("authentication required")
    return actor


def _is_json_array(text: str) -> bool:
    """Powertools validates a list's first element against a non-list body model, so ``[{...}, junk]`` would pass
    as ``{...}``. Every Bazaar request body is a JSON object (contract §3): an array is a 422, not a first item."""
    if not text.lstrip().startswith("["):
        return False
    try:
        return isinstance(bodies.loads(text), list)
    except ValueError:  # not JSON (or nested too deep): the resolver answers that (400)
        return False


def _is_json_media_type(event: Mapping[str, Any]) -> bool:
    """Bodies are JSON. Powertools would also parse form and multipart bodies into the model: refuse those (415).
    A body without a content type is read as JSON (lenient to clients that omit it)."""
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type in ("", "application/json") or (media_type.startswith("application/")
                                                      and media_type.endswith("+json"))


def _body_problem(event: Mapping[str, Any]) -> Optional[dict]:
    """The answer to a body no route can take, or None to let the resolver parse and validate it."""
    if not _is_json_media_type(event):
        return problem_result(415, "send the request body as application/json")
    try:
        text = decode_body(event)
    except ValueError:  # bad base64 or not UTF-8: no JSON in it, and Powertools would raise (500)
        return problem_result(400, "the request body is not UTF-8 text")
    if _is_json_array(text):
        return problem_result(422, "the request body failed validation", errors=[
            {"loc": ["body"], "msg": "Input should be a JSON object", "type": "model_attributes_type"}])
    return None


def _audit_resource(event: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return headers.get("location") or event.get("rawPath") or "-"


def http_handler(function_name: str, app: APIGatewayHttpResolver,
                 authenticate: Optional[Callable[[Mapping[str, Any]], Optional[dict]]] = None,
                 ) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of route function ``function_name`` (its manifest entry gives the auth rule).

    ``authenticate``: for a public route that proves its caller another way than a JWT (the payment provider's
    signed webhook): given the event after the size check, it returns a problem result to refuse it, or None."""
    fn = manifest.get(function_name)
    route = fn.route
    if route is None:
        raise ValueError(f"{function_name} is not a route in the manifest")
    changes_state = route.method not in ("GET", "HEAD", "OPTIONS")
    takes_body = route.method in METHODS_WITH_BODY  # other methods' bodies are never read

    def _guard(event: Mapping[str, Any]) -> tuple[Optional[Actor], Optional[dict]]:
        actor = actor_of(event)  # first, so even a 413 is audited with the caller's sub
        if body_size(event) > MAX_BODY_BYTES:
            return actor, problem_result(413, f"request body exceeds {MAX_BODY_BYTES} bytes")
        if route.public:
            refused = authenticate(event) if authenticate else None  # e.g. a webhook's signature, before parsing
            if refused is not None:
                return actor, refused
        else:
            if actor is None:
                return None, problem_result(401, "a valid access token is required")
            if not actor.in_any(route.groups):
                return actor, problem_result(403, f"this action needs one of the groups: {', '.join(route.groups)}")
        if takes_body and event.get("body"):
            return actor, _body_problem(event)
        return actor, None

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @traced
    @metrics.log_metrics
    def handler(event: dict, context: LambdaContext) -> dict:
        actor, early = _guard(event)
        try:
            result = early if early is not None else app.resolve(event, context)
        except Exception:  # our failure, never the client's: still problem+json, still audited
            logger.exception("unhandled error")
            result = problem_result(500, "internal error")
        status = int(result.get("statusCode", 200))
        if changes_state:
            audit(actor=actor.sub if actor else None, action=function_name, resource=_audit_resource(event, result),
                  status=status, request_id=(event.get("requestContext") or {}).get("requestId", "-"),
                  roles=actor.groups if actor else ())
        if status >= 500:
            metrics.add_metric(name="ServerErrors", unit="Count", value=1)
        return result

    return handler


def decode_body(event: Mapping[str, Any]) -> str:
    body = event.get("body") or ""
    return base64.b64decode(body).decode() if event.get("isBase64Encoded") else body
