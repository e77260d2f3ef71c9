"""The catalog through the local stack as a client sees it: gateway, authorizer, functions, moto, Valkey."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import http, tokens

pytestmark = pytest.mark.e2e


def token_of(stack, group: str, index: int = 0) -> str:
    users = [u["username"] for u in stack.info["users"] if u["group"] == group]
    return tokens(stack, users[index])["AccessToken"]


def test_product_lifecycle_through_the_gateway(stack):
    api, seller, other = stack.url, token_of(stack, "seller", 0), token_of(stack, "seller", 1)
    created = http("POST", f"{api}/products", {"name": "Desk", "price_cents": 12900, "currency": "EUR", "stock": 3},
                   token=seller)
    assert created.status == 201, created.body
    product = created.json()
    location = created.headers["location"]
    assert location == f"/products/{product['product_id']}"

    first = http("GET", api + location)
    again = http("GET", api + location)
    assert (first.status, first.headers["x-cache"], again.headers["x-cache"]) == (200, "MISS", "HIT")
    assert http("GET", api + location, headers={"if-none-match": first.headers["etag"]}).status == 304

    denied = http("PATCH", api + location, {"stock": 0}, token=other)
    assert denied.status == 403 and denied.headers["content-type"] == "application/problem+json"

    patched = http("PATCH", api + location, {"price_cents": 9900}, token=seller,
                   headers={"if-match": first.headers["etag"]})
    assert patched.status == 200 and patched.json()["version"] == 2
    fresh = http("GET", api + location)
    assert fresh.json()["price_cents"] == 9900 and fresh.headers["etag"] == patched.headers["etag"]
    assert http("PATCH", api + location, {"stock": 1}, token=seller,
                headers={"if-match": first.headers["etag"]}).status == 412

    listed = http("GET", f"{api}/products?seller_id={product['seller_id']}&limit=100").json()["items"]
    assert product["product_id"] in [p["product_id"] for p in listed]

    assert http("DELETE", api + location, token=seller).status == 204
    assert http("GET", api + location).status == 404


def test_concurrent_conditional_updates_have_exactly_one_winner(stack):
    """Transaction isolation of the local moto server (local/moto_patches.py): one version, one winner."""
    api, seller = stack.url, token_of(stack, "seller", 0)
    created = http("POST", f"{api}/products", {"name": "Race", "price_cents": 100, "currency": "EUR", "stock": 50},
                   token=seller)
    location, etag = created.headers["location"], created.headers["etag"]

    def patch(i: int) -> int:
        return http("PATCH", api + location, {"stock": i}, token=seller, headers={"if-match": etag}).status

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(patch, range(6)))
    assert statuses == [200] + [412] * 5, statuses
    assert http("GET", api + location).json()["version"] == 2


def test_id_token_is_not_accepted_for_a_protected_route(stack):
    seller = next(u["username"] for u in stack.info["users"] if u["group"] == "seller")
    id_token = tokens(stack, seller)["IdToken"]
    r = http("POST", f"{stack.url}/products", {"name": "X", "price_cents": 1, "currency": "EUR"}, token=id_token)
    assert r.status == 401 and r.json() == {"message": "Unauthorized"}
