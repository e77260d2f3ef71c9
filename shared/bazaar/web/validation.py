"""Request validation answers, as every route gives them: 400 for a malformed request (JSON, query, header, path),
422 for a body that fails its model, with ``errors`` of ``loc``/``msg``/``type`` only (never the input).

``read_body`` and ``validate_body`` read and validate a JSON body without the request resolver, as its validation
does (``aws_lambda_powertools.event_handler.middlewares.openapi_validation``), with the body model's compiled validator
(pydantic_core, no pydantic import)."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional

from bazaar.web import bodies
from bazaar.web.edge import decode_body
from bazaar.web.params import header
from bazaar.web.problems import problem_result

_BAD_REQUEST_LOCATIONS = ("query", "header", "path", "cookie")
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def validation_problem(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``status``, ``detail`` and ``errors`` of the answer to these validation errors (pydantic's shape)."""
    errors = list(errors)
    malformed = any(e.get("type") == "json_invalid" or (e.get("loc") or ("",))[0] in _BAD_REQUEST_LOCATIONS
                    for e in errors)
    status = 400 if malformed else 422
    detail = "the request is malformed" if status == 400 else "the request body failed validation"
    # Only loc/msg/type: never echo the rejected input back (it may be huge or sensitive).
    shaped = [{"loc": list(e.get("loc", ())), "msg": _message(e), "type": e.get("type", "")} for e in errors]
    return {"status": status, "detail": detail, "errors": shaped}


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "json_invalid":  # the parser's reason ("Expecting ',' delimiter"), never the input
        reason = (error.get("ctx") or {}).get("error")
        if isinstance(reason, str) and reason:
            return f"invalid JSON: {reason}"
    return str(error.get("msg") or "invalid value")


def validation_result(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    answer = validation_problem(errors)
    return problem_result(answer.pop("status"), answer.pop("detail"), **answer)


def _multipart_boundary(content_type: str) -> Optional[str]:
    for segment in content_type.split(";"):
        stripped = segment.strip()
        if stripped.startswith("boundary="):
            boundary = stripped[len("boundary="):]
            return boundary[1:-1] if boundary.startswith('"') and boundary.endswith('"') else boundary
    return None


def read_body(event: Mapping[str, Any]) -> tuple[Any, Optional[dict[str, Any]]]:
    """``(value, None)``: what to validate (None: no body); or ``(None, answer)`` when reading it already decided the
    answer (a JSON parse error, 400 with that error alone; a media type the route cannot read, 415).

    Called after the entry point's checks (``bazaar.web.edge``): a body that is sent is JSON (or ``+json``) text."""
    content_type = (header(event, "content-type") or "").strip()
    if not content_type or content_type.startswith("application/json"):  # case-sensitive, as the resolver reads it
        text = decode_body(event)
        if not text:
            return None, None
        try:
            return bodies.loads(text), None
        except json.JSONDecodeError as exc:
            return None, validation_result([{"type": "json_invalid", "loc": ("body", exc.pos),
                                             "msg": "JSON decode error", "ctx": {"error": exc.msg}}])
    # Only without a body (the entry point refuses a form body with 415): an empty form is validated as {}. A
    # multipart type without a boundary made the resolver fail (500): it is a media type the route cannot read.
    if content_type.startswith(_FORM) or (content_type.startswith(_MULTIPART) and _multipart_boundary(content_type)):
        return {}, None
    return None, problem_result(415, "the request body must be application/json")


def validate_body(model: Any, value: Any) -> tuple[Any, list[dict[str, Any]]]:
    """``(instance, [])`` or ``(None, errors)`` located under ``body``, as the resolver validates a single body
    model (``from_attributes``: its TypeAdapter's call). ``model``: a pydantic model or a compiled validator
    (``bazaar.schemas.compiled``); both raise pydantic_core's ``ValidationError`` (pydantic re-exports it)."""
    from pydantic_core import ValidationError

    if value is None:
        return None, [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
    try:
        return model.model_validate(value, from_attributes=True), []
    except ValidationError as exc:
        return None, [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
