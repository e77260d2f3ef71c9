"""The Lambda entry point of every route that reads a caller or changes state, and the checks all of them share,
whether the route is answered by the lean ``bazaar.web.endpoint`` or by a resolver (``bazaar.web.http``, which
documents the routes and which tests compare against).

Order of checks, cheapest and most fundamental first (before any body is parsed):
1. body over 64 KiB -> 413;
2. the caller's groups against the manifest route's groups -> 401 (no identity) / 403; on a public route that
   proves its caller another way (the payment webhook's signature), that check instead;
3. on routes that take a body (POST, PUT, PATCH), when one is sent: a media type other than JSON -> 415, bytes
   that are not UTF-8 -> 400, a JSON array -> 422;
4. the route: request validation (400 for malformed JSON/query/header/path, 422 for the body), then the view;
   domain errors become problem+json. Every JSON body goes through ``bodies.loads``, so deep nesting and
   over-long integers are client errors too;
5. state-changing requests write one audit record; any 5xx counts as a ``ServerErrors`` metric.

``bazaar.web.openapi`` documents exactly these statuses for every route; keep the two in step. No framework import:
the lean routes' cold start pays only for this.
"""

from __future__ import annotations

import base64
from typing import Any, Callable, Mapping, Optional

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest
from bazaar.domain.identity import Actor
from bazaar.observability import logger, metrics, traced
from bazaar.settings import MAX_BODY_BYTES
from bazaar.web import bodies
from bazaar.web.audit import audit
from bazaar.web.identity import actor_of
from bazaar.web.limits import body_size
from bazaar.web.problems import problem_result

METHODS_WITH_BODY = ("POST", "PUT", "PATCH")

# (event, context, caller) -> the API Gateway result; the caller is None on a public route.
Answer = Callable[[dict, LambdaContext, Optional[Actor]], dict]
# For a public route that proves its caller another way than a JWT: a problem result to refuse the event, or None.
Authenticate = Callable[[Mapping[str, Any]], Optional[dict]]


def decode_body(event: Mapping[str, Any]) -> str:
    body = event.get("body") or ""
    return base64.b64decode(body).decode() if event.get("isBase64Encoded") else body


def _is_json_array(text: str) -> bool:
    """A list's first element would be validated against a non-list body model, so ``[{...}, junk]`` would pass as
    ``{...}``. Every Bazaar request body is a JSON object (contract §3): an array is a 422, not a first item."""
    if not text.lstrip().startswith("["):
        return False
    try:
        return isinstance(bodies.loads(text), list)
    except ValueError:  # not JSON (or nested too deep): validation answers that (400)
        return False


def _is_json_media_type(event: Mapping[str, Any]) -> bool:
    """Bodies are JSON. Form and multipart bodies would be parsed into the model: refuse those (415).
    A body without a content type is read as JSON (lenient to clients that omit it)."""
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type in ("", "application/json") or (media_type.startswith("application/")
                                                      and media_type.endswith("+json"))


def _body_problem(event: Mapping[str, Any]) -> Optional[dict]:
    """The answer to a body no route can take, or None to let the route parse and validate it."""
    if not _is_json_media_type(event):
        return problem_result(415, "send the request body as application/json")
    try:
        text = decode_body(event)
    except ValueError:  # bad base64 or not UTF-8: no JSON in it
        return problem_result(400, "the request body is not UTF-8 text")
    if _is_json_array(text):
        return problem_result(422, "the request body failed validation", errors=[
            {"loc": ["body"], "msg": "Input should be a JSON object", "type": "model_attributes_type"}])
    return None


def _audit_resource(event: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return headers.get("location") or event.get("rawPath") or "-"


def entry_point(function_name: str, answer: Answer, authenticate: Optional[Authenticate] = None,
                ) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of route function ``function_name`` (its manifest entry gives the auth rule):
    checks 1-3, then ``answer``, then 5."""
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
            result = early if early is not None else answer(event, context, None if route.public else actor)
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
