"""Each payment method, the webhook, and cancellation, as clients see them through the gateway (contract §3-§5)."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import http, wait_for
from tests.e2e.orders.conftest import Shop

pytestmark = pytest.mark.e2e


def test_pm_card_ok_is_confirmed_within_5_s(shop: Shop) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    started = time.monotonic()
    created = shop.place([(pid, 2)])
    assert created.status == 201 and created.json()["status"] == "PENDING"
    order = shop.wait_status(created.json()["order_id"], "CONFIRMED", timeout_s=5)
    print(f"\npm_card_ok confirmed after {time.monotonic() - started:.2f} s")
    [charge] = shop.ledger(order["order_id"])  # one charge, keyed by the order, of the order's total
    assert (charge["kind"], charge["outcome"], charge["idempotency_key"], int(charge["amount_cents"])) == (
        "charge", "succeeded", order["order_id"], order["total_cents"])
    assert shop.stock(pid) == 3
    mine = http("GET", f"{shop.url}/orders?limit=5", token=shop.as_("customer", 0)).json()
    assert order["order_id"] in [o["order_id"] for o in mine["items"]]


def test_pm_card_declined_is_cancelled_and_its_stock_released_within_5_s(shop: Shop) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    created = shop.place([(pid, 2)], method="pm_card_declined").json()
    order = shop.wait_status(created["order_id"], "CANCELLED", timeout_s=5)
    assert order["cancel_reason"] == "payment_declined"
    assert wait_for(lambda: shop.stock(pid) == 5, timeout_s=5)
    assert [e["outcome"] for e in shop.ledger(order["order_id"])] == ["declined"]


def test_pm_async_waits_for_the_webhook(shop: Shop) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    oid = shop.place([(pid, 1)], method="pm_async").json()["order_id"]
    assert wait_for(lambda: shop.ledger(oid))
    assert [e["outcome"] for e in shop.ledger(oid)] == ["pending"]
    time.sleep(1)
    assert shop.order(oid).json()["status"] == "PENDING"
    ok = shop.webhook({"event_id": f"evt_{oid}", "type": "payment.succeeded", "order_id": oid})
    assert ok.status == 200 and ok.json()["effect"] == "confirmed"
    assert shop.order(oid).json()["status"] == "CONFIRMED"


@pytest.mark.parametrize("case", ["bad signature", "stale timestamp", "no signature"])
def test_unsigned_or_stale_webhooks_are_401_problems(shop: Shop, case: str) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    oid = shop.place([(pid, 1)], method="pm_async").json()["order_id"]
    body = {"event_id": f"evt_{case}_{oid}", "type": "payment.succeeded", "order_id": oid}
    result = {"bad signature": lambda: shop.webhook(body, secret="guessed"),
              "stale timestamp": lambda: shop.webhook(body, t=int(time.time()) - 301),
              "no signature": lambda: shop.webhook(body, header="")}[case]()
    assert result.status == 401 and result.headers["content-type"] == "application/problem+json"
    assert result.json()["status"] == 401
    assert shop.order(oid).json()["status"] == "PENDING"


def test_webhook_replay_unknown_order_and_an_order_already_cancelled(shop: Shop) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    customer = shop.as_("customer", 0)
    oid = shop.place([(pid, 1)], method="pm_async", token=customer).json()["order_id"]
    body = {"event_id": f"evt_replay_{oid}", "type": "payment.failed", "order_id": oid}
    first, replay = shop.webhook(body), shop.webhook(body)
    assert (first.status, replay.status) == (200, 200) and replay.json() == first.json()
    assert shop.stock(pid) == 5  # released once
    unknown = shop.webhook({"event_id": f"evt_unknown_{oid}", "type": "payment.succeeded",
                            "order_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"})
    assert unknown.status == 404 and unknown.headers["content-type"] == "application/problem+json"
    # paid after the order was cancelled: the money goes back, once
    late = shop.webhook({"event_id": f"evt_late_{oid}", "type": "payment.succeeded", "order_id": oid})
    assert late.json()["effect"] == "refund_requested"
    assert wait_for(lambda: [e["kind"] for e in shop.ledger(oid)].count("refund") == 1)
    assert shop.order(oid, customer).json()["status"] == "CANCELLED"


@pytest.mark.parametrize("state", ["PENDING", "CONFIRMED"])
def test_cancel_from_each_state_twice_by_others_and_by_an_admin(shop: Shop, state: str) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    owner, other, admin = shop.as_("customer", 0), shop.as_("customer", 1), shop.as_("admin")
    method = "pm_async" if state == "PENDING" else "pm_card_ok"
    oid = shop.place([(pid, 2)], method=method, token=owner).json()["order_id"]
    shop.wait_status(oid, state)
    hidden = shop.cancel(oid, other)
    assert hidden.status == 404 and shop.order(oid, other).status == 404  # another customer: no such order
    assert shop.cancel(oid, shop.as_("seller")).status == 403  # sellers may not cancel orders at all
    cancelled = shop.cancel(oid, owner)
    assert cancelled.status == 200
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == ("CANCELLED", "cancelled_by_customer")
    again = shop.cancel(oid, owner)
    assert again.status == 409 and again.headers["content-type"] == "application/problem+json"
    assert shop.cancel(oid, admin).status == 409
    assert shop.stock(pid) == 5  # released exactly once
    refunds = lambda: [e["kind"] for e in shop.ledger(oid)].count("refund")  # noqa: E731
    if state == "CONFIRMED":
        assert wait_for(lambda: refunds() == 1), shop.ledger(oid)
    else:
        time.sleep(1)
        assert refunds() == 0  # nothing was paid
    assert wait_for(lambda: shop.mail(f"order {oid} was cancelled"))


def test_an_admin_cancels_any_order(shop: Shop) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    oid = shop.place([(pid, 1)], customer=1).json()["order_id"]
    shop.wait_status(oid, "CONFIRMED")
    result = shop.cancel(oid, shop.as_("admin"))
    assert result.json()["cancel_reason"] == "cancelled_by_admin"


def test_stock_in_product_reads_follows_orders(shop: Shop) -> None:
    """docs/orders.md: an order's stock change reaches GET /products/{id} once the order event evicts the cached
    entry (within about a second locally), never later than the cache TTL."""
    pid = shop.new_product(stock=7)["product_id"]
    before = http("GET", f"{shop.url}/products/{pid}")  # cached now
    assert before.json()["stock"] == 7
    etag = before.headers["etag"]
    assert http("GET", f"{shop.url}/products/{pid}", headers={"If-None-Match": etag}).status == 304
    shop.place([(pid, 3)])
    started = time.monotonic()
    assert wait_for(lambda: http("GET", f"{shop.url}/products/{pid}").json()["stock"] == 4, timeout_s=10)
    print(f"\nstock visible in GET /products/{{id}} {time.monotonic() - started:.2f} s after the order")
    # The order moved the stock, not the version: a reader revalidating its copy is sent the new stock (the ETag
    # covers the stock), while If-Match names the version, so an edit based on the pre-order read still applies.
    revalidated = http("GET", f"{shop.url}/products/{pid}", headers={"If-None-Match": etag})
    assert revalidated.status == 200 and revalidated.json()["stock"] == 4
    assert revalidated.json()["version"] == before.json()["version"] and revalidated.headers["etag"] != etag
    edited = http("PATCH", f"{shop.url}/products/{pid}", {"name": "renamed"}, token=shop.as_("seller"),
                  headers={"If-Match": etag})
    assert edited.status == 200 and (edited.json()["version"], edited.json()["stock"]) == (2, 4)
    stale = http("PATCH", f"{shop.url}/products/{pid}", {"name": "again"}, token=shop.as_("seller"),
                 headers={"If-Match": etag})
    assert stale.status == 412  # the version it names is gone


def test_order_routes_refuse_other_roles_and_bad_input(shop: Shop) -> None:
    seller = shop.as_("seller")
    assert http("GET", f"{shop.url}/orders", token=seller).status == 403
    assert http("POST", f"{shop.url}/orders", {"items": [], "payment_method": "pm_card_ok"}, token=seller,
                headers={"idempotency-key": "x"}).status == 403
    customer = shop.as_("customer")
    no_key = http("POST", f"{shop.url}/orders", {"items": [], "payment_method": "pm_card_ok"}, token=customer)
    assert no_key.status == 400 and no_key.json()["errors"][0]["loc"] == ["header", "idempotency-key"]
    garbage = http("POST", f"{shop.url}/orders", b"{not json", token=customer, headers={"idempotency-key": "g"})
    assert garbage.status == 400
    deep = http("POST", f"{shop.url}/orders", json.dumps({"items": [[[[[]]]]]}).encode(), token=customer,
                headers={"idempotency-key": "d"})
    assert deep.status == 422
