"""The catalog routes end to end: handlers through their entry points, moto (server mode) and a real Valkey."""

from __future__ import annotations

import base64
import json

import pytest

from bazaar.domain.ids import is_valid_id, new_id
from tests.integration.api import ADMIN, CUSTOMER, NEW, SELLER, SELLER_2, Api
from tests.support.events import claims, http_event


# --- CRUD -------------------------------------------------------------------------------------------------------

def test_full_crud_flow(api: Api, table_items) -> None:
    created = api.create()
    assert created.status == 201
    product = created.json
    pid = product["product_id"]
    assert is_valid_id(pid)
    assert created.headers["location"] == f"/products/{pid}"
    assert created.headers["etag"] == f'"{pid}.1.3"'  # id, version, stock
    assert created.content_type == "application/json"
    assert {k: product[k] for k in NEW} == NEW
    assert (product["seller_id"], product["version"]) == ("seller-1", 1)
    assert product["created_at"] == product["updated_at"] and product["created_at"].endswith("Z")

    first = api.get(pid)
    assert first.status == 200 and first.json == product
    assert first.headers["etag"] == f'"{pid}.1.3"'
    assert first.headers["x-cache"] == "MISS"
    second = api.get(pid)
    assert second.status == 200 and second.json == product and second.headers["x-cache"] == "HIT"

    for inm in (f'"{pid}.1.3"', f'W/"{pid}.1.3"', "*", f'"{pid}.0.3", "{pid}.1.3"'):
        not_modified = api.get(pid, headers={"If-None-Match": inm})
        assert not_modified.status == 304, (inm, not_modified.body)
        assert not not_modified.body
        assert not_modified.headers["etag"] == f'"{pid}.1.3"'
    assert api.get(pid, headers={"If-None-Match": f'"{pid}.0.3"'}).status == 200

    patched = api.patch(pid, {"price_cents": 3999, "stock": 10}, headers={"If-Match": f'"{pid}.1.3"'})
    assert patched.status == 200, patched.body
    assert patched.json["version"] == 2
    assert (patched.json["price_cents"], patched.json["stock"], patched.json["name"]) == (3999, 10, NEW["name"])
    assert patched.json["updated_at"] >= patched.json["created_at"] == product["created_at"]
    assert patched.headers["etag"] == f'"{pid}.2.10"'
    assert api.get(pid, headers={"If-None-Match": f'"{pid}.1.3"'}).status == 200  # the old ETag no longer matches

    before = table_items()
    stale = api.patch(pid, {"stock": 0}, headers={"If-Match": f'"{pid}.1.3"'})
    stale.assert_problem(412)
    assert table_items() == before
    assert api.get(pid).json == patched.json

    assert api.delete(pid).status == 204
    api.get(pid).assert_problem(404)
    api.patch(pid, {"stock": 1}).assert_problem(404)
    api.delete(pid).assert_problem(404)


def test_patch_without_if_match_and_with_star(api: Api) -> None:
    pid = api.new_product()["product_id"]
    assert api.patch(pid, {"name": "A"}).json["version"] == 2
    assert api.patch(pid, {"name": "B"}, headers={"If-Match": "*"}).json["version"] == 3
    assert api.patch(pid, {"name": "C"}, headers={"If-Match": f'"x.1", "{pid}.3.3"'}).json["version"] == 4


def test_delete_with_if_match(api: Api) -> None:
    pid = api.new_product()["product_id"]
    api.delete(pid, headers={"If-Match": f'"{pid}.2"'}).assert_problem(412)
    assert api.get(pid).status == 200
    assert api.delete(pid, headers={"If-Match": f'"{pid}.1.3"'}).status == 204


def test_seller_id_is_the_caller_not_the_body(api: Api, table_items) -> None:
    before = table_items()
    api.create(dict(NEW, seller_id="seller-2")).assert_problem(422)
    assert table_items() == before
    assert api.new_product(who=SELLER_2)["seller_id"] == "seller-2"


def test_base64_encoded_body_is_accepted(api: Api) -> None:
    body = base64.b64encode(json.dumps(NEW).encode()).decode()
    event = http_event("POST", "/products", body=body, claims=SELLER)
    event["isBase64Encoded"] = True
    result = api.call("create_product", event)
    assert result.status == 201, result.body
    assert result.json["name"] == NEW["name"]


def test_whole_numbers_in_either_json_spelling(api: Api) -> None:
    """JSON has one number type: 12.0 is the integer 12 (and JSON Schema's "integer" admits it)."""
    created = api.create({**NEW, "price_cents": 1200.0, "stock": 3.0})
    assert created.status == 201, created.body
    assert (created.json["price_cents"], created.json["stock"]) == (1200, 3)
    assert all(isinstance(created.json[k], int) for k in ("price_cents", "stock"))  # stored and sent as integers
    patched = api.patch(created.json["product_id"], {"stock": 7.0})
    assert patched.status == 200 and patched.json["stock"] == 7 and isinstance(patched.json["stock"], int)


def test_unicode_fields_round_trip(api: Api) -> None:
    product = api.new_product(name="Lämpchen 💡 " + "ß" * 180, description="日本語" * 100)
    assert api.get(product["product_id"]).json == product


def test_health() -> None:
    from functions.health.handler import handler
    from tests.support.events import FakeContext

    result = handler(http_event("GET", "/health"), FakeContext("health"))
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["status"] == "ok"


# --- ownership and roles ----------------------------------------------------------------------------------------

def test_other_seller_may_not_change_or_delete(api: Api, table_items) -> None:
    pid = api.new_product()["product_id"]
    before = table_items()
    api.patch(pid, {"stock": 0}, who=SELLER_2).assert_problem(403)
    api.delete(pid, who=SELLER_2).assert_problem(403)
    api.patch(pid, {"stock": 0}, who=SELLER_2, headers={"If-Match": '"nope.1"'}).assert_problem(403)
    assert table_items() == before


def test_admin_may_change_and_delete(api: Api) -> None:
    pid = api.new_product()["product_id"]
    patched = api.patch(pid, {"name": "Moderated"}, who=ADMIN)
    assert patched.status == 200 and patched.json["seller_id"] == "seller-1" and patched.json["version"] == 2
    assert api.delete(pid, who=ADMIN).status == 204
    api.get(pid).assert_problem(404)


def test_customer_is_refused_by_the_manifest_groups(api: Api, table_items) -> None:
    pid = api.new_product()["product_id"]
    before = table_items()
    body = api.create(who=CUSTOMER).assert_problem(403)
    assert "seller" in body["detail"]
    api.patch(pid, {"stock": 0}, who=CUSTOMER).assert_problem(403)
    api.delete(pid, who=CUSTOMER).assert_problem(403)
    api.create(who=claims("nobody")).assert_problem(403)  # authenticated, in no group
    # an admin is not a seller: may moderate, may not list products
    api.create(who=ADMIN).assert_problem(403)
    assert table_items() == before


@pytest.mark.parametrize("who", [None, {}, {"sub": "", "token_use": "access"},
                                 {"cognito:groups": "[seller]", "token_use": "access"}, dict(SELLER, token_use="id")],
                         ids=["no-authorizer", "no-claims", "empty-sub", "groups-without-sub", "id-token"])
def test_missing_identity_is_401_problem(api: Api, table_items, who) -> None:
    pid = api.new_product()["product_id"]
    before = table_items()
    api.create(who=who).assert_problem(401)
    api.patch(pid, {"stock": 0}, who=who).assert_problem(401)
    api.delete(pid, who=who).assert_problem(401)
    assert table_items() == before


def test_groups_as_a_real_list_or_json_string(api: Api) -> None:
    access = {"token_use": "access"}
    assert api.create(who={"sub": "s-list", "cognito:groups": ["seller"], **access}).status == 201
    assert api.create(who={"sub": "s-json", "cognito:groups": '["customer","seller"]', **access}).status == 201


# --- pagination -------------------------------------------------------------------------------------------------

def _walk(api: Api, query: str) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        q = query + (f"&cursor={cursor}" if cursor else "")
        result = api.list(q.lstrip("&"))
        assert result.status == 200, result.body
        pages.append(result.json["items"])
        cursor = result.json["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not terminate"


@pytest.fixture
def catalog(api: Api) -> list[dict]:
    """25 products: 15 of seller-1, 10 of seller-2, interleaved."""
    products = []
    for i in range(25):
        products.append(api.new_product(who=SELLER if i % 5 < 3 else SELLER_2, name=f"p{i:02d}"))
    return products


def _newest_first(products: list[dict]) -> list[str]:
    return [p["product_id"] for p in sorted(products, key=lambda p: (p["created_at"], p["product_id"]),
                                            reverse=True)]


def test_pages_of_ten_newest_first_without_gaps_or_duplicates(api: Api, catalog: list[dict]) -> None:
    pages = _walk(api, "limit=10")
    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [item["product_id"] for page in pages for item in page]
    assert ids == _newest_first(catalog)


def test_default_limit_is_20(api: Api, catalog: list[dict]) -> None:
    first = api.list()
    assert len(first.json["items"]) == 20 and first.json["next_cursor"]
    assert len(api.list(f"cursor={first.json['next_cursor']}").json["items"]) == 5


def test_seller_filter(api: Api, catalog: list[dict]) -> None:
    pages = _walk(api, "seller_id=seller-1&limit=10")
    assert [len(p) for p in pages] == [10, 5]
    ids = [item["product_id"] for page in pages for item in page]
    assert ids == _newest_first([p for p in catalog if p["seller_id"] == "seller-1"])
    assert api.list("seller_id=nobody").json == {"items": [], "next_cursor": None}


def test_exact_multiple_has_no_dead_last_cursor(api: Api) -> None:
    for _ in range(4):
        api.new_product()
    first = api.list("limit=2").json
    second = api.list(f"limit=2&cursor={first['next_cursor']}").json
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    assert api.list("limit=4").json["next_cursor"] is None


@pytest.fixture
def small_catalog(api: Api) -> None:
    for who in (SELLER, SELLER, SELLER, SELLER_2, SELLER_2, SELLER_2):
        api.new_product(who=who)


def test_tampered_cursor_is_400(api: Api, small_catalog) -> None:
    cursor = api.list("limit=2").json["next_cursor"]
    assert api.list(f"limit=2&cursor={cursor}").status == 200
    body, tag = cursor.split(".")
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    for bad in (f"{flipped}.{tag}", f"{body}.{tag[:-2]}", cursor + "x", f"{tag}.{body}", "garbage", "a.b",
                "x" * 1025):
        api.list(f"limit=2&cursor={bad}").assert_problem(400)


def test_cursor_only_continues_its_own_listing(api: Api, small_catalog) -> None:
    unfiltered = api.list("limit=2").json["next_cursor"]
    api.list(f"limit=2&seller_id=seller-1&cursor={unfiltered}").assert_problem(400)
    seller_1 = api.list("limit=2&seller_id=seller-1").json["next_cursor"]
    api.list(f"limit=2&seller_id=seller-2&cursor={seller_1}").assert_problem(400)
    api.list(f"limit=2&cursor={seller_1}").assert_problem(400)
    following = api.list(f"limit=2&seller_id=seller-1&cursor={seller_1}")
    assert following.status == 200
    assert [i["seller_id"] for i in following.json["items"]] == ["seller-1"]


@pytest.mark.parametrize("position", [{}, {"PK": {"S": "PRODUCT#x"}}, {"PK": {"N": "1"}, "SK": {"S": "P"},
                                      "GSI1PK": {"S": "PRODUCTS"}, "GSI1SK": {"S": "x"}}, {"PK": {"S": "x" * 600},
                                      "SK": {"S": "P"}, "GSI1PK": {"S": "PRODUCTS"}, "GSI1SK": {"S": "x"}}],
                         ids=["empty", "partial", "wrong-type", "oversized"])
def test_authentic_cursor_with_an_impossible_position_is_400(api: Api, small_catalog, position: dict) -> None:
    # Only a holder of the signing key could make one: the repository still refuses it (never a 5xx from DynamoDB).
    from bazaar import wiring
    from bazaar.web.cursors import encode_cursor

    cursor = encode_cursor(position, "products:*", wiring.cursor_key())
    api.list(f"limit=2&cursor={cursor}").assert_problem(400)


def test_list_reads_through_the_cache(api: Api) -> None:
    api.new_product()
    first, second = api.list("limit=5"), api.list("limit=5")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.json == second.json


def test_unknown_product_ids(api: Api) -> None:
    for pid in (new_id(), new_id().lower()):
        api.get(pid).assert_problem(404)
        api.patch(pid, {"stock": 1}).assert_problem(404)
        api.delete(pid).assert_problem(404)
