"""The OpenAPI 3.1 document of every route, merged from each route function's own resolver.

Paths, parameters and schemas come from the code (Powertools generates them from each handler's signature);
who may call what comes from the manifest, so the document cannot disagree with the authorizer. Responses are
what the server really sends (outside fuzzers check it against the running API):
- each handler declares its own outcomes (``bazaar.web.documented``);
- every status the shared edge (``bazaar.web.edge``) answers on a route is added here, from the manifest entry
  and the operation's inputs; every error is ``application/problem+json``, except two that API Gateway itself
  may send: 401 from the JWT authorizer and 413 over its 10 MB limit, both ``{"message": ...}``;
- 204 and 304 have no body; Powertools' default 422/500 (FastAPI-style ``application/json``) are replaced;
- operation ids are the manifest's function names, and links connect a created resource to the operations on it.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from bazaar import manifest
from bazaar.settings import MAX_BODY_BYTES
from bazaar.web.documented import PROBLEM_SCHEMA_REF, RETRY_AFTER, problem
from bazaar.web.edge import METHODS_WITH_BODY
from bazaar.web.problems import PROBLEM_JSON

TITLE = "Bazaar"
API_VERSION = "1.0.0"
SECURITY_SCHEME = "cognitoAccessToken"
# Kept for readers of the old name: the problem+json response object.
PROBLEM = problem("Problem details (RFC 9457)")
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["loc", "msg"], "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"}, "type": {"type": "string"}}}},
    },
}
# What API Gateway itself answers (authorizer refusals, its own size limit): not problem+json (contract §2).
GATEWAY_MESSAGE_SCHEMA = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
GATEWAY_MESSAGE_REF = {"$ref": "#/components/schemas/GatewayMessage"}
_POWERTOOLS_DEFAULTS = ("#/components/schemas/HTTPValidationError", "#/components/schemas/ResponseValidationError")
_NO_BODY = (204, 304)


def _either(description: str) -> dict[str, Any]:
    """An error that API Gateway or the function may send, each in its own shape."""
    return {"description": description, "content": {
        "application/json": {"schema": GATEWAY_MESSAGE_REF},
        PROBLEM_JSON: {"schema": PROBLEM_SCHEMA_REF},
    }}


def shared_responses(fn: manifest.Function, operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The statuses ``bazaar.web.edge`` answers on this route before (or around) its handler, and those every
    table writer gets from the shared transaction runner (``bazaar.adapters.dynamo.transactions``)."""
    route = fn.route
    assert route is not None
    out: dict[int, dict[str, Any]] = {
        413: _either(f"Request body over {MAX_BODY_BYTES // 1024} KiB (the function), or over 10 MB (API Gateway)")}
    if not route.public:
        out[401] = _either("Missing, invalid or expired access token (API Gateway's JWT authorizer), or a token "
                           "that is not an access token (the function)")
        out[403] = problem(f"The caller is in none of the groups: {', '.join(route.groups)}")
    reasons = []
    if route.method in METHODS_WITH_BODY:
        reasons.append("malformed JSON, a body that is not UTF-8, or JSON nested too deep")
        out[415] = problem("A body that is not application/json")
        out[422] = problem("A body that is not a JSON object, or fails validation")
    if any(p.get("in") in ("query", "header") for p in operation.get("parameters", ())):
        reasons.append("a malformed query value or header")
    if reasons:
        out[400] = problem("Bad request: " + "; ".join(reasons))
    if manifest.Grant.TABLE_WRITE in fn.grants:
        out[409] = problem("Contention on the same items outlasted the retries; retry")
        out[503] = problem("The data store is throttling; retry after Retry-After seconds", headers=RETRY_AFTER)
    return out


def _refers_to(value: Any, refs: tuple[str, ...]) -> bool:
    return any(ref in json.dumps(value) for ref in refs)


def _response_schema(operation: dict[str, Any], status: int) -> dict[str, Any]:
    content = (operation.get("responses", {}).get(str(status)) or {}).get("content") or {}
    return (content.get("application/json") or {}).get("schema") or {}


def _body_properties(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def _links(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(creating response, link name, link): from ``POST /things`` (201) to every operation on ``/things/{id}``
    whose path parameter the created body carries, with its ETag as If-Match where the target takes one."""
    operations = {(path, method): op for path, ops in spec["paths"].items() for method, op in ops.items()}
    for (path, method), op in operations.items():
        created = op.get("responses", {}).get("201")
        if method != "post" or not created:
            continue
        fields = _body_properties(spec, _response_schema(op, 201))
        for (target_path, target_method), target in sorted(operations.items()):
            head, _, rest = target_path.partition(path.rstrip("/") + "/{")
            param = rest.split("}", 1)[0]
            if head or not rest or param not in fields:
                continue
            parameters = {f"path.{param}": f"$response.body#/{param}"}
            takes = {(p["in"], p["name"].lower()) for p in target.get("parameters", ())}
            if ("header", "if-match") in takes and "ETag" in created.get("headers", {}):
                parameters["header.if-match"] = "$response.header.ETag"
            yield created, target["operationId"], {"operationId": target["operationId"], "parameters": parameters}


def _finish(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["GatewayMessage"] = GATEWAY_MESSAGE_SCHEMA
    for fn in manifest.routes():
        route = fn.route
        assert route is not None
        operation = spec["paths"][route.path][route.method.lower()]
        operation["operationId"] = fn.name
        responses = {code: r for code, r in operation.get("responses", {}).items()
                     if not _refers_to(r, _POWERTOOLS_DEFAULTS)}
        for status, response in shared_responses(fn, operation).items():
            declared = responses.get(str(status))
            response = copy.deepcopy(response)
            if declared is not None:  # both the handler and the edge answer it: say both reasons
                response["description"] = f"{declared['description']}; or: {response['description']}"
                if status not in (401, 413):  # these two may come from API Gateway: keep both shapes
                    headers = {**response.get("headers", {}), **declared.get("headers", {})}
                    response = {**declared, "description": response["description"], **({"headers": headers}
                                                                                       if headers else {})}
            responses[str(status)] = response
        gateway_also = {413} | ({401} if not route.public else set())  # API Gateway answers these too
        for code, response in responses.items():
            status = int(code)
            if status in _NO_BODY:
                response.pop("content", None)
            elif status >= 400 and status not in gateway_also:
                response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA_REF}}
        operation["responses"] = dict(sorted(responses.items()))
        if not route.public:
            operation["security"] = [{SECURITY_SCHEME: []}]
            operation["x-bazaar-groups"] = list(route.groups)
    for created, name, link in _links(spec):
        created.setdefault("links", {})[name] = link
    for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):  # now unreferenced
        if not _refers_to(spec, (f"#/components/schemas/{name}",)):
            schemas.pop(name, None)
    return spec


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=TITLE,
        version=API_VERSION,
        description="Bazaar marketplace API. Protected routes take a Cognito access token as a Bearer token. "
                    "Errors are application/problem+json (RFC 9457), except API Gateway's own 401 and 413.",
        security_schemes={SECURITY_SCHEME: HTTPBearer(bearerFormat="JWT")},
        on_conflict="error",
    )
    for fn in manifest.routes():
        module = importlib.import_module(f"functions.{fn.name}.handler")
        merge.add_schema(module.app.get_openapi_schema(title=TITLE, version=API_VERSION))
    return _finish(json.loads(merge.get_openapi_json_schema()))


def openapi_json() -> str:
    return json.dumps(openapi_document(), separators=(",", ":"))


def docs_html(spec_json: str) -> str:
    """Swagger UI with its JavaScript, CSS and ``spec_json`` inlined: it works with no internet."""
    import aws_lambda_powertools.event_handler as event_handler
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
    spec = spec_json.replace("</", "<\\/")  # keep the inlined JSON from closing the <script> tag
    return generate_swagger_html(spec, (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
                                 (assets / "swagger-ui.min.css").read_text(encoding="utf-8"), "", None)


# What the build generates for the functions that serve them (manifest ``generated``), file name -> content.
GENERATED: dict[str, Callable[[], str]] = {
    "openapi.json": openapi_json,
    "docs.html": lambda: docs_html(openapi_json()),
}


def main(argv: list[str]) -> int:
    """``python -m bazaar.web.openapi OUT_DIR NAME...``: write the generated files (with the routers importable)."""
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:] or sorted(GENERATED):
        (out / name).write_text(GENERATED[name](), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
