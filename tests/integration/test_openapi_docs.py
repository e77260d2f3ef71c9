"""GET /openapi.json and GET /docs: the document matches the manifest; the UI needs no internet."""

from __future__ import annotations

import json
import re

import pytest

from bazaar import manifest
from tests.integration.api import Api
from tests.support.events import http_event

ROUTES = manifest.routes()


@pytest.fixture(scope="module")
def spec() -> dict:
    from functions.openapi.handler import handler
    from tests.support.events import FakeContext

    result = handler(http_event("GET", "/openapi.json"), FakeContext("openapi"))
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"].startswith("application/json")
    return json.loads(result["body"])


def test_openapi_3_1(spec: dict) -> None:
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "Bazaar"
    assert "security" not in spec  # no global requirement: public routes must stay public


def test_every_manifest_route_and_nothing_else(spec: dict) -> None:
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    assert documented == {(f.route.path, f.route.method) for f in ROUTES}  # type: ignore[union-attr]


@pytest.mark.parametrize("fn", ROUTES, ids=[f.name for f in ROUTES])
def test_security_and_groups_follow_the_manifest(spec: dict, fn: manifest.Function) -> None:
    route = fn.route
    assert route is not None
    operation = spec["paths"][route.path][route.method.lower()]
    if route.public:
        assert "security" not in operation
        assert "x-bazaar-groups" not in operation
    else:
        assert operation["security"] == [{"cognitoAccessToken": []}]
        assert operation["x-bazaar-groups"] == list(route.groups)
        assert {"401", "403"} <= set(operation["responses"])
    scheme = spec["components"]["securitySchemes"]["cognitoAccessToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_problem_schema_and_request_bodies(spec: dict) -> None:
    assert set(spec["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}
    post = spec["paths"]["/products"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/NewProduct")
    params = {p["name"]: p for p in spec["paths"]["/products"]["get"]["parameters"]}
    assert {"limit", "cursor", "seller_id"} <= set(params)
    assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (1, 100)
    patch = spec["paths"]["/products/{product_id}"]["patch"]
    assert {p["name"] for p in patch["parameters"]} >= {"product_id", "if-match"}


def test_docs_is_self_contained_html(api: Api, spec: dict) -> None:
    result = api.call("docs", http_event("GET", "/docs"))
    assert result.status == 200
    assert result.content_type.startswith("text/html")
    html = result.body
    assert "<html" in html.lower() and "swagger" in html.lower()
    # No asset from anywhere else: offline it must still work.
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//", html, re.I)
    assert not re.search(r"<img\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", html, re.I)
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    # The spec is inlined (no fetch), whole, and cannot close the <script> it lives in.
    inlined = re.search(r"^\s*spec: (\{.*\}),$", html, re.M)
    assert inlined, "no inlined spec"
    assert "</" not in inlined.group(1)
    assert json.loads(inlined.group(1).replace("<\\/", "</")) == spec


# --- the document says what the server sends (the e2e fuzzing checks it against the running API) -----------------

def _operations(spec: dict):
    for fn in ROUTES:
        route = fn.route
        assert route is not None
        yield fn, route, spec["paths"][route.path][route.method.lower()]


def test_the_document_is_valid_openapi_3_1(spec: dict) -> None:
    from openapi_spec_validator import validate

    validate(spec)


def test_operation_ids_are_the_manifest_names(spec: dict) -> None:
    assert sorted(op["operationId"] for _, _, op in _operations(spec)) == sorted(f.name for f in ROUTES)


def test_errors_are_problem_json_except_api_gateways_own(spec: dict) -> None:
    for fn, route, op in _operations(spec):
        for code, response in op["responses"].items():
            status = int(code)
            if status < 400:
                continue
            types = set(response["content"])
            if status == 413 or (status == 401 and not route.public):  # API Gateway's own {"message": ...}
                assert types == {"application/json", "application/problem+json"}, (fn.name, code)
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/GatewayMessage"}
            else:
                assert types == {"application/problem+json"}, (fn.name, code)
            assert response["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in json.dumps(spec) and "ResponseValidationError" not in json.dumps(spec)


def test_bodiless_answers_have_no_content(spec: dict) -> None:
    delete = spec["paths"]["/products/{product_id}"]["delete"]["responses"]["204"]
    not_modified = spec["paths"]["/products/{product_id}"]["get"]["responses"]["304"]
    assert "content" not in delete and "content" not in not_modified
    assert not_modified["headers"]["ETag"]["required"] is True


def test_docs_is_documented_as_html(spec: dict) -> None:
    assert set(spec["paths"]["/docs"]["get"]["responses"]["200"]["content"]) == {"text/html"}


def test_every_route_documents_what_the_shared_edge_sends(spec: dict) -> None:
    for fn, route, op in _operations(spec):
        statuses = {int(c) for c in op["responses"]}
        assert 413 in statuses, fn.name
        assert ({401, 403} <= statuses) == (not route.public), fn.name
        if route.method in ("POST", "PUT", "PATCH"):
            assert {400, 415, 422} <= statuses, fn.name
        assert 500 not in statuses, fn.name  # never a designed answer
        assert any(200 <= s < 400 for s in statuses), fn.name


def test_no_null_where_the_server_refuses_it(spec: dict) -> None:
    changes = spec["components"]["schemas"]["ProductChanges"]
    assert '"null"' not in json.dumps(changes["properties"]) and "default" not in json.dumps(changes["properties"])
    assert changes["minProperties"] == 1 and changes["additionalProperties"] is False
    for name in ("price_cents", "stock"):
        assert {"minimum", "maximum"} <= set(changes["properties"][name]), name


def test_links_from_a_created_product_to_the_operations_on_it(spec: dict) -> None:
    links = spec["paths"]["/products"]["post"]["responses"]["201"]["links"]
    assert set(links) == {"get_product", "update_product", "delete_product"}
    assert links["update_product"]["parameters"] == {"path.product_id": "$response.body#/product_id",
                                                     "header.if-match": "$response.header.ETag"}
