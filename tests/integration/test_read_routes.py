"""The read routes answer without the request resolver (bazaar.web.reads). What they enforce and what the OpenAPI
document says come from one declaration; here, the resolver built from that declaration (with Powertools'
validation, as every other route has it) and the lean handler must answer every request alike."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from bazaar.schemas.catalog import ProductOut, ProductPage
from tests.integration.api import Api
from tests.support.events import FakeContext, http_event

GOOD_AND_BAD_QUERIES = ["", "limit=1", "limit=100", "limit=0", "limit=101", "limit=abc", "limit=1&limit=2",
                        "limit=-1", "limit=1.5", "limit=", "limit=" + "9" * 400, "limit=+5", "limit=05",
                        "cursor=", "cursor=garbage", "cursor=" + "A" * 5000, "seller_id=a%20b",
                        "seller_id=" + "s" * 129, "seller_id=", "seller_id=seller-1", "seller_id=a.b:c_d-e",
                        "unknown=1", "limit=0&seller_id=", "limit=%205", "limit=5%20", "limit=1_0", "limit=0x10",
                        "limit=1e2", "limit=-0", "limit=1.0", "limit=00", "limit=" + "9" * 5000, "limit=1__0",
                        "seller_id=a,b", "cursor=a,b", "seller_id=a&seller_id=b", "seller_id=a%0A"]
IF_NONE_MATCH = [None, "*", "x" * 1024, "x" * 1025, '"nope"', "W/\"x\", \"y\""]


def both(name: str, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    module = importlib.import_module(f"functions.{name}.handler")
    lean = module.handler(json.loads(json.dumps(event)), FakeContext(name))
    documented = module.app.resolve(json.loads(json.dumps(event)), FakeContext(name))
    return lean, documented


def comparable(r: dict[str, Any]) -> tuple[int, Any]:
    body = json.loads(r["body"]) if r.get("body") else None
    if isinstance(body, dict) and "errors" in body:
        body = sorted((tuple(e["loc"]), e["type"]) for e in body["errors"])
    elif isinstance(body, dict) and "status" in body:
        body = (body["status"], body["title"], body["detail"])
    return int(r["statusCode"]), body


def test_list_answers_as_the_documented_route(api: Api) -> None:
    for _ in range(3):
        api.new_product()
    for query in GOOD_AND_BAD_QUERIES:
        lean, documented = both("list_products", http_event("GET", "/products", query=query))
        assert comparable(lean) == comparable(documented), query


def test_get_answers_as_the_documented_route(api: Api) -> None:
    product = api.new_product()
    etag = api.get(product["product_id"]).headers["etag"]
    for which, pid in (("existing", product["product_id"]), ("unknown", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                       ("malformed", "not-an-id!")):
        for if_none_match in [*IF_NONE_MATCH, etag, f"W/{etag}"]:
            headers = {"If-None-Match": if_none_match} if if_none_match is not None else None
            lean, documented = both("get_product", Api.item_event("GET", pid, headers=headers))
            case = (which, if_none_match and if_none_match[:40])
            assert comparable(lean) == comparable(documented), case
            assert {k: v for k, v in lean["headers"].items() if k != "X-Cache"} == \
                {k: v for k, v in documented["headers"].items() if k != "X-Cache"}, case


def test_bodies_have_the_documented_shape(api: Api) -> None:
    """The resolver validated every answer against its model; the lean routes' answers are checked here."""
    for _ in range(3):
        api.new_product()
    page = api.list("limit=2")
    ProductPage.model_validate(page.json)
    assert page.json["next_cursor"]
    ProductPage.model_validate(api.list(f"limit=2&cursor={page.json['next_cursor']}").json)
    ProductOut.model_validate(api.get(page.json["items"][0]["product_id"]).json)


def test_a_failure_of_ours_is_still_problem_json(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from bazaar.services import catalog

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "get_product", broken)
    api.get(api.new_product()["product_id"]).assert_problem(500)
