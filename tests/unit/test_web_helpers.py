"""Small pure pieces of the HTTP edge: conditional-GET matching, problem bodies, audit outcomes."""

from __future__ import annotations

import json

import pytest

from bazaar.domain.errors import NotFound, Unavailable
from bazaar.web.audit import outcome_of
from bazaar.web.problems import PROBLEM_JSON, problem_body, problem_result
from bazaar.web.responses import etag_matches

ETAG = '"01ABC.3"'


@pytest.mark.parametrize("header", [ETAG, f"W/{ETAG}", "*", f'"x.1", {ETAG}', f' "x.1" ,W/{ETAG} ', '"x.1", *'])
def test_if_none_match_matches(header: str) -> None:
    assert etag_matches(header, ETAG)


@pytest.mark.parametrize("header", ['"01ABC.2"', "01ABC.3", '"01ABC.3 "', "", "W/", '"x.1", "y.2"'])
def test_if_none_match_does_not_match(header: str) -> None:
    assert not etag_matches(header, ETAG)


def test_problem_body_shape() -> None:
    assert problem_body(404, "no such product") == {"type": "about:blank", "title": "Not Found", "status": 404,
                                                    "detail": "no such product"}
    body = problem_body(422, "bad", errors=[{"loc": ["body", "name"], "msg": "too short"}])
    assert body["errors"] == [{"loc": ["body", "name"], "msg": "too short"}]


def test_problem_result_is_an_api_gateway_v2_result() -> None:
    result = problem_result(413, "too big")
    assert result["statusCode"] == 413
    assert result["headers"] == {"Content-Type": PROBLEM_JSON}
    assert result["isBase64Encoded"] is False


@pytest.mark.parametrize("status, outcome", [(200, "success"), (201, "success"), (204, "success"),
                                             (304, "success"), (400, "rejected"), (401, "denied"), (403, "denied"),
                                             (404, "rejected"), (409, "rejected"), (412, "rejected"),
                                             (413, "rejected"), (422, "rejected"), (500, "error"), (503, "error")])
def test_audit_outcome(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


@pytest.mark.parametrize("error,status,header", [
    (Unavailable("the table is throttling", retry_after_s=2), 503, {"Retry-After": "2"}),
    (NotFound("no such product"), 404, {}),
])
def test_a_read_route_answers_domain_errors_as_the_resolver_routes_do(error, status, header) -> None:
    from bazaar.web.reads import Param, ReadRoute
    from tests.support.events import FakeContext, http_event

    route = ReadRoute("get_product", params=[Param("product_id", "path")], summary="probe", tags=["test"])

    @route
    def view(product_id: str) -> dict:
        raise error

    answer = route.handler(http_event("GET", "/products/p1", route_key="GET /products/{product_id}",
                                      path_parameters={"product_id": "p1"}), FakeContext("get_product"))
    assert answer["statusCode"] == status
    assert answer["headers"] == {"Content-Type": "application/problem+json", **header}
    assert json.loads(answer["body"])["status"] == status
