"""Each function works with exactly the environment its manifest grants give it (infra and the local stack set
nothing else), so a missing grant fails here rather than in AWS."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from bazaar import consumers, manifest, wiring
from bazaar.manifest import GRANT_ENV
from tests.integration.api import Api
from tests.integration.orders_api import CUSTOMER, OrdersApi
from tests.support.events import http_event

ALL_RESOURCE_VARS = set(GRANT_ENV.values())


def _only_granted(fn: manifest.Function, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_RESOURCE_VARS - set(fn.env_names):
        monkeypatch.delenv(name, raising=False)
    wiring.reset()


REQUESTS: dict[str, Callable[[Api, str], Any]] = {
    "health": lambda api, pid: api.call("health", http_event("GET", "/health")),
    "openapi": lambda api, pid: api.call("openapi", http_event("GET", "/openapi.json")),
    "docs": lambda api, pid: api.call("docs", http_event("GET", "/docs")),
    "list_products": lambda api, pid: api.list("limit=1"),
    "get_product": lambda api, pid: api.get(pid),
    "create_product": lambda api, pid: api.create(),
    "update_product": lambda api, pid: api.patch(pid, {"stock": 2}),
    "delete_product": lambda api, pid: api.delete(pid),
    "create_order": lambda api, pid: OrdersApi(api._invoke, "").place([{"product_id": pid, "quantity": 1}]),
    "list_orders": lambda api, pid: [_order_for(pid), _order_for(pid)] and OrdersApi(api._invoke, "").list_orders(
        "limit=1"),
    "get_order": lambda api, pid: OrdersApi(api._invoke, "").get_order(_order_for(pid)),
    "cancel_order": lambda api, pid: OrdersApi(api._invoke, "").cancel(_order_for(pid)),
    "payment_webhook": lambda api, pid: OrdersApi(api._invoke, _webhook_secret()).webhook(
        {"event_id": f"evt_{pid}", "type": "payment.succeeded", "order_id": _order_for(pid)}),
}


def _order_for(product_id: str) -> str:
    """A pending order of CUSTOMER, written through the repository (needs nothing but the table)."""
    from bazaar.adapters.dynamo.orders import DynamoOrderRepository
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.domain import orders
    from bazaar.domain.identity import Actor
    from bazaar.services.orders import snapshot_of

    product = DynamoProductRepository().get(product_id)
    assert product is not None
    order, reservations, event = orders.place(
        Actor(CUSTOMER["sub"], frozenset({"customer"})), [orders.LineRequest(product_id, 1)],
        orders.PaymentMethod.ASYNC, {product_id: snapshot_of(product)}, "2026-01-01T00:00:00.000Z")
    DynamoOrderRepository().place(order, reservations, event)
    return order.order_id


def _webhook_secret() -> str:
    import os

    import boto3

    return boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ID"])["SecretString"]


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_route_function_needs_nothing_beyond_its_grants(api: Api, monkeypatch: pytest.MonkeyPatch,
                                                        name: str) -> None:
    pid = api.new_product()["product_id"]
    api.new_product()  # two products: "limit=1" below has a next page, so list_products signs a cursor
    _only_granted(manifest.get(name), monkeypatch)
    result = REQUESTS[name](api, pid)
    assert result.status < 400, (name, result.status, result.body)
    if name in ("list_products", "list_orders"):
        assert result.json["next_cursor"]


def test_every_route_function_is_exercised() -> None:
    assert set(REQUESTS) == {f.name for f in manifest.routes()}


def test_consumers_need_nothing_beyond_their_grants(api: Api, env: dict[str, str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from tests.integration.test_consumers import (_clear_consumer_caches, invalidate, outbox_records, publish,
                                                  sqs_record, stream_event, updated_message)

    product = api.new_product()
    records = outbox_records(env["TABLE_NAME"])
    topic = boto3.client("sns").create_topic(Name="bazaar-test-events")["TopicArn"]
    try:
        with monkeypatch.context() as mp:
            mp.setenv("EVENTS_TOPIC_ARN", topic)
            _clear_consumer_caches()
            _only_granted(manifest.get("publish_events"), mp)
            assert publish(stream_event(records)) == {"batchItemFailures": []}
        with monkeypatch.context() as mp:
            _clear_consumer_caches()
            _only_granted(manifest.get("invalidate_cache"), mp)
            message = json.dumps(updated_message(product, 2))
            assert invalidate({"Records": [sqs_record(message)]}) == {"batchItemFailures": []}
    finally:
        _clear_consumer_caches()
        consumers.idempotency.cache_clear()
