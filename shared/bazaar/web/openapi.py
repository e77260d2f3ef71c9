"""The OpenAPI 3.1 document of every route, merged from each route function's own resolver.

Paths, parameters and schemas come from the code (Powertools generates them from each handler's signature);
who may call what comes from the manifest, so the document cannot disagree with the authorizer.
"""

from __future__ import annotations

import importlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from bazaar import manifest

TITLE = "Bazaar"
API_VERSION = "1.0.0"
SECURITY_SCHEME = "cognitoAccessToken"
PROBLEM = {"description": "Problem details (RFC 9457)",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"}, "type": {"type": "string"}}}},
    },
}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=TITLE,
        version=API_VERSION,
        description="Bazaar marketplace API. Protected routes take a Cognito access token as a Bearer token.",
        security_schemes={SECURITY_SCHEME: HTTPBearer(bearerFormat="JWT")},
        on_conflict="error",
    )
    for fn in manifest.routes():
        module = importlib.import_module(f"functions.{fn.name}.handler")
        merge.add_schema(module.app.get_openapi_schema(title=TITLE, version=API_VERSION))
    spec = json.loads(merge.get_openapi_json_schema())
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for fn in manifest.routes():
        route = fn.route
        assert route is not None
        operation = spec["paths"][route.path][route.method.lower()]
        operation.setdefault("responses", {}).setdefault("400", PROBLEM)
        if not route.public:
            operation["security"] = [{SECURITY_SCHEME: []}]
            operation["x-bazaar-groups"] = list(route.groups)
            operation["responses"].setdefault("401", {"description": "Missing, invalid or expired access token"})
            operation["responses"].setdefault("403", PROBLEM)
    return spec


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
