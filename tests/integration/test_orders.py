"""POST/GET /orders, GET /orders/{id} and cancel through the functions' entry points against moto and Valkey:
reservation, snapshots, idempotency, visibility, cancellation, and what a transaction costs."""

from __future__ import annotations

import threading
import uuid
from typing import Iterator

import pytest

from tests.integration.conftest import TABLE, invoke_handler, scan_table
from tests.support.events import claims
from tests.integration.orders_api import (client, ADMIN, CUSTOMER_2, SELLER, OrdersApi, dynamodb_requests,
                                          orders_environment, outbox_messages, stock_of)

LISTER = claims("customer-lister", "customer")  # only the listing test orders as this customer
ORDER_KEYS = {"order_id", "customer_id", "status", "items", "total_cents", "currency", "payment_method",
              "created_at", "updated_at"}


@pytest.fixture(scope="module")
def shop(moto_url: str, valkey_server) -> Iterator[OrdersApi]:
    with orders_environment(moto_url, f"redis://{valkey_server.host}:{valkey_server.port}/0") as values:
        yield OrdersApi(invoke_handler, values["webhook_secret"])


def lines(*pairs: tuple[str, int]) -> list[dict]:
    return [{"product_id": pid, "quantity": q} for pid, q in pairs]


# --- placing ------------------------------------------------------------------------------------------------------

def test_an_order_snapshots_its_lines_and_reserves_stock(shop: OrdersApi) -> None:
    lamp = shop.new_product(name="Lamp", price_cents=1250, stock=5)
    mug = shop.new_product(name="Mug", price_cents=300, stock=2)
    result = shop.place(lines((lamp["product_id"], 2), (mug["product_id"], 2)))
    assert result.status == 201, result.body
    order = result.json
    assert set(order) == ORDER_KEYS  # no cancel_reason before it is cancelled
    assert result.headers["location"] == f"/orders/{order['order_id']}"
    assert (order["status"], order["customer_id"], order["currency"]) == ("PENDING", "customer-1", "EUR")
    assert order["items"] == [
        {"product_id": lamp["product_id"], "seller_id": "seller-1", "name": "Lamp", "quantity": 2,
         "unit_price_cents": 1250},
        {"product_id": mug["product_id"], "seller_id": "seller-1", "name": "Mug", "quantity": 2,
         "unit_price_cents": 300}]
    assert order["total_cents"] == 2 * 1250 + 2 * 300
    assert (stock_of(TABLE, lamp["product_id"]), stock_of(TABLE, mug["product_id"])) == (3, 0)
    [created] = outbox_messages(TABLE, order["order_id"])
    assert created["type"] == "OrderCreated" and created["data"]["order"] == order
    assert shop.get_order(order["order_id"]).json == order


def test_a_short_line_is_a_409_naming_it_and_nothing_moves(shop: OrdersApi) -> None:
    plenty = shop.new_product(stock=10)["product_id"]
    scarce = shop.new_product(stock=1)["product_id"]
    before = scan_table()
    result = shop.place(lines((plenty, 3), (scarce, 2)))
    body = result.assert_problem(409)
    assert scarce in body["detail"] and plenty not in body["detail"]
    assert body["lines"] == [{"product_id": scarce, "requested": 2, "available": 1}]
    assert scan_table() == before  # no order, no stock taken, no event, no idempotency record left behind


@pytest.mark.parametrize("case", ["unknown product", "mixed currencies", "duplicate line", "quantity 0",
                                  "quantity 101", "51 lines", "no lines", "bad method", "bad id", "quantity as text",
                                  "extra field"])
def test_invalid_orders_are_422_and_change_nothing(shop: OrdersApi, case: str) -> None:
    eur = shop.new_product(currency="EUR")["product_id"]
    usd = shop.new_product(currency="USD")["product_id"]
    ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV"  # a well-formed id nobody has
    bodies = {
        "unknown product": {"items": lines((ghost, 1)), "payment_method": "pm_card_ok"},
        "mixed currencies": {"items": lines((eur, 1), (usd, 1)), "payment_method": "pm_card_ok"},
        "duplicate line": {"items": lines((eur, 1), (eur, 2)), "payment_method": "pm_card_ok"},
        "quantity 0": {"items": lines((eur, 0)), "payment_method": "pm_card_ok"},
        "quantity 101": {"items": lines((eur, 101)), "payment_method": "pm_card_ok"},
        "51 lines": {"items": [{"product_id": str(uuid.uuid4()), "quantity": 1} for _ in range(51)],
                     "payment_method": "pm_card_ok"},
        "no lines": {"items": [], "payment_method": "pm_card_ok"},
        "bad method": {"items": lines((eur, 1)), "payment_method": "pm_cash"},
        "bad id": {"items": lines(("../PRODUCT#x", 1)), "payment_method": "pm_card_ok"},
        "quantity as text": {"items": [{"product_id": eur, "quantity": "1"}], "payment_method": "pm_card_ok"},
        "extra field": {"items": lines((eur, 1)), "payment_method": "pm_card_ok", "discount": 100},
    }
    before = scan_table()
    body = shop.place([], body=bodies[case]).assert_problem(422)
    if case == "unknown product":
        assert ghost in body["detail"]
    assert scan_table() == before


def test_only_customers_order(shop: OrdersApi) -> None:
    pid = shop.new_product()["product_id"]
    shop.place(lines((pid, 1)), who=SELLER).assert_problem(403)
    shop.place(lines((pid, 1)), who=ADMIN).assert_problem(403)
    assert shop.place(lines((pid, 1)), who=None).status == 401


# --- idempotency --------------------------------------------------------------------------------------------------

def test_same_key_and_body_return_the_same_order_and_create_nothing(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    first = shop.place(lines((pid, 2)), key="checkout-42")
    assert first.status == 201 and "idempotent-replayed" not in first.headers
    again = shop.place(lines((pid, 2)), key="checkout-42")
    assert again.status == 201 and again.json == first.json
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert stock_of(TABLE, pid) == 3  # reserved once
    assert [m["type"] for m in outbox_messages(TABLE, first.json["order_id"])] == ["OrderCreated"]
    assert len(shop.list_orders("limit=100", who=LISTER).json["items"]) == 0  # nothing for anyone else either


def test_same_key_other_body_is_422_and_other_customers_keys_are_their_own(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    first = shop.place(lines((pid, 1)), key="k")
    body = shop.place(lines((pid, 2)), key="k").assert_problem(422)
    assert body["errors"][0]["loc"] == ["header", "idempotency-key"]
    theirs = shop.place(lines((pid, 1)), key="k", who=CUSTOMER_2)
    assert theirs.status == 201 and theirs.json["order_id"] != first.json["order_id"]
    assert theirs.json["customer_id"] == "customer-2"
    assert stock_of(TABLE, pid) == 3


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 256, "ключ"])
def test_a_missing_or_malformed_idempotency_key_is_400(shop: OrdersApi, key) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    headers = {} if key is None else {"Idempotency-Key": key}
    body = shop.place(lines((pid, 1)), key=None, headers=headers).assert_problem(400)
    assert body["errors"][0]["loc"] == ["header", "idempotency-key"]
    assert stock_of(TABLE, pid) == 5


def test_a_key_still_in_flight_is_409(shop: OrdersApi, monkeypatch: pytest.MonkeyPatch) -> None:
    import functions.create_order.handler as create_order

    pid = shop.new_product(stock=5)["product_id"]
    entered, release = threading.Event(), threading.Event()
    real = create_order.orders.place_order

    def slow(*args, **kwargs):
        entered.set()
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(create_order.orders, "place_order", slow)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", shop.place(lines((pid, 1)), key="slow")))
    first.start()
    assert entered.wait(10)
    second = shop.place(lines((pid, 1)), key="slow")
    release.set()
    first.join(10)
    second.assert_problem(409)
    assert second.headers["retry-after"] == "1"
    assert results["first"].status == 201
    assert stock_of(TABLE, pid) == 4


def test_a_failed_order_leaves_its_key_free_for_a_retry(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=1)["product_id"]
    shop.place(lines((pid, 2)), key="retry-me").assert_problem(409)
    assert shop.place(lines((pid, 1)), key="retry-me").status == 201  # another body is fine: nothing was stored


# --- what it costs ------------------------------------------------------------------------------------------------

def test_an_order_from_cached_products_costs_three_dynamodb_requests(shop: OrdersApi) -> None:
    """Idempotency record (put), the transaction, idempotency record (update): the snapshots come from the cache
    and the transaction's condition proves them current."""
    a, b = shop.new_product(stock=5)["product_id"], shop.new_product(stock=5)["product_id"]
    shop.get(a), shop.get(b)  # as a shopper browsing would: the products are cached
    with dynamodb_requests() as calls:
        assert shop.place(lines((a, 1), (b, 1)), key="count-me").status == 201
    assert sorted(calls) == ["PutItem", "TransactWriteItems", "UpdateItem"], calls


def test_an_outdated_cached_snapshot_is_corrected_by_the_transaction_itself(shop: OrdersApi) -> None:
    pid = shop.new_product(name="Old name", price_cents=100, stock=5)["product_id"]
    shop.get(pid)  # cached at version 1
    # The seller's change reaches the table but not the cache (e.g. the cache was unreachable then).
    client("dynamodb").update_item(
        TableName=TABLE, Key={"PK": {"S": f"PRODUCT#{pid}"}, "SK": {"S": "PRODUCT"}},
        UpdateExpression="SET price_cents = :p, #n = :n, version = :v",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":p": {"N": "250"}, ":n": {"S": "New name"}, ":v": {"N": "2"}})
    with dynamodb_requests() as calls:
        order = shop.place(lines((pid, 1)), key="fresh")
    assert order.status == 201, order.body
    assert order.json["items"][0]["unit_price_cents"] == 250 and order.json["items"][0]["name"] == "New name"
    assert calls.count("TransactWriteItems") == 2 and "GetItem" not in calls  # the answer carried the product
    assert stock_of(TABLE, pid) == 4


# --- reading ------------------------------------------------------------------------------------------------------

def test_orders_are_visible_to_their_customer_and_admins_only(shop: OrdersApi) -> None:
    pid = shop.new_product()["product_id"]
    order = shop.order_now(pid)
    assert shop.get_order(order["order_id"]).json == order
    assert shop.get_order(order["order_id"], who=ADMIN).json == order
    shop.get_order(order["order_id"], who=CUSTOMER_2).assert_problem(404)
    shop.get_order(order["order_id"], who=SELLER).assert_problem(403)
    shop.get_order("01ARZ3NDEKTSV4RRFFQ69G5FAV").assert_problem(404)
    shop.get_order("not-an-id").assert_problem(404)


def test_my_orders_newest_first_with_cursors(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=10)["product_id"]
    mine = [shop.order_now(pid, who=LISTER)["order_id"] for _ in range(5)]
    shop.order_now(pid, who=CUSTOMER_2)
    first = shop.list_orders("limit=2", who=LISTER).json
    second = shop.list_orders(f"limit=2&cursor={first['next_cursor']}", who=LISTER).json
    third = shop.list_orders(f"limit=2&cursor={second['next_cursor']}", who=LISTER).json
    seen = [o["order_id"] for page in (first, second, third) for o in page["items"]]
    assert seen == list(reversed(mine)) and third["next_cursor"] is None
    assert all(o["customer_id"] == LISTER["sub"] for page in (first, second, third) for o in page["items"])
    # a cursor is bound to its customer's listing
    shop.list_orders(f"limit=2&cursor={first['next_cursor']}", who=CUSTOMER_2).assert_problem(400)
    shop.list_orders("limit=0", who=LISTER).assert_problem(400)
    shop.list_orders("cursor=garbage", who=LISTER).assert_problem(400)


# --- cancelling ---------------------------------------------------------------------------------------------------

def test_cancel_releases_stock_once_and_refunds_only_a_paid_order(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    pending = shop.order_now(pid, 2)
    cancelled = shop.cancel(pending["order_id"])
    assert cancelled.status == 200
    assert (cancelled.json["status"], cancelled.json["cancel_reason"]) == ("CANCELLED", "cancelled_by_customer")
    assert stock_of(TABLE, pid) == 5
    shop.cancel(pending["order_id"]).assert_problem(409)
    assert stock_of(TABLE, pid) == 5
    types = [m["type"] for m in outbox_messages(TABLE, pending["order_id"])]
    assert types == ["OrderCreated", "OrderCancelled"]  # unpaid: no refund
    [event] = [m for m in outbox_messages(TABLE, pending["order_id"]) if m["type"] == "OrderCancelled"]
    assert event["data"]["released"] == [{"product_id": pid, "quantity": 2}]


def test_cancel_by_admin_and_not_by_others(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    order = shop.order_now(pid)
    shop.cancel(order["order_id"], who=CUSTOMER_2).assert_problem(404)
    shop.cancel(order["order_id"], who=SELLER).assert_problem(403)
    shop.cancel("01ARZ3NDEKTSV4RRFFQ69G5FAV").assert_problem(404)
    by_admin = shop.cancel(order["order_id"], who=ADMIN)
    assert by_admin.json["cancel_reason"] == "cancelled_by_admin"


def test_cancel_gives_nothing_back_to_a_deleted_product(shop: OrdersApi) -> None:
    kept, deleted = shop.new_product(stock=5)["product_id"], shop.new_product(stock=5)["product_id"]
    order = shop.place(lines((kept, 1), (deleted, 1)), key="two").json
    assert shop.delete(deleted).status == 204
    assert shop.cancel(order["order_id"]).status == 200
    assert stock_of(TABLE, kept) == 5
    assert client("dynamodb").get_item(  # no half item re-created by the release
        TableName=TABLE, Key={"PK": {"S": f"PRODUCT#{deleted}"}, "SK": {"S": "PRODUCT"}}).get("Item") is None
    [event] = [m for m in outbox_messages(TABLE, order["order_id"]) if m["type"] == "OrderCancelled"]
    assert event["data"]["released"] == [{"product_id": kept, "quantity": 1}]


# --- a seller's edit never undoes a reservation ----------------------------------------------------------------------

def test_a_price_edit_computed_before_an_order_keeps_the_orders_reservation(shop: OrdersApi) -> None:
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.domain.catalog import apply_update
    from bazaar.domain.identity import Actor
    from bazaar.domain.ports import StaleVersion

    repo = DynamoProductRepository(TABLE)
    pid = shop.new_product(stock=5, price_cents=100)["product_id"]
    seller = Actor("seller-1", frozenset({"seller"}))
    seen = repo.get(pid)  # the seller's PATCH read the product ...
    shop.order_now(pid, 2)  # ... an order reserves 2 ...
    updated, event = apply_update(seen, seller, {"price_cents": 120}, "2026-01-01T00:00:00.000Z")
    repo.update(updated, seen, event)  # ... and the edit, computed from stock 5, lands
    now = repo.get(pid)
    assert (now.price_cents, now.stock, now.version) == (120, 3, 2)
    # a stock edit computed from the old stock does not land: the service re-reads and applies it again
    restock, event = apply_update(now, seller, {"stock": 10}, "2026-01-01T00:00:01.000Z")
    shop.order_now(pid, 1)
    with pytest.raises(StaleVersion):
        repo.update(restock, now, event)
    assert repo.get(pid).stock == 2
    assert shop.patch(pid, {"stock": 10}).json["stock"] == 10  # through the API: re-read, then applied
