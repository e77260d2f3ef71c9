"""The manifest (bazaar.manifest) is the single source of truth: every entry must match the code it names."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bazaar import manifest
from bazaar.manifest import FUNCTIONS, GRANT_ENV, Function, Grant, QueueSource, Route, StreamSource

ROOT = Path(__file__).resolve().parents[2]
NAMES = [f.name for f in FUNCTIONS]
ROUTES = [f for f in FUNCTIONS if f.route]


def test_there_are_functions_and_names_are_unique() -> None:
    assert len(FUNCTIONS) >= 10
    assert len(set(NAMES)) == len(NAMES)
    assert set(manifest.BY_NAME) == set(NAMES)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=NAMES)
def test_every_entry_has_its_handler(fn: Function) -> None:
    assert (ROOT / "functions" / fn.name / "handler.py").is_file()
    module_path, _, attr = fn.handler.rpartition(".")
    assert module_path == f"functions.{fn.name}.handler" and attr == "handler"
    module = importlib.import_module(module_path)
    assert callable(getattr(module, "handler", None))


def test_no_handler_without_an_entry() -> None:
    on_disk = {p.parent.name for p in (ROOT / "functions").glob("*/handler.py")}
    assert on_disk == set(NAMES)


def _registered_routes(fn: Function) -> list[tuple[str, str]]:
    app = importlib.import_module(f"functions.{fn.name}.handler").app
    routes = app._static_routes + app._dynamic_routes  # Powertools keeps them in these two lists
    return [(r.method, r.openapi_path) for r in routes]


@pytest.mark.parametrize("fn", ROUTES, ids=[f.name for f in ROUTES])
def test_each_route_function_serves_exactly_its_manifest_route(fn: Function) -> None:
    assert fn.route is not None
    # Powertools writes <param>, the manifest (and API Gateway) {param}; openapi_path is the {param} form.
    assert _registered_routes(fn) == [(fn.route.method, fn.route.path)]


def test_route_keys_are_unique() -> None:
    keys = [f.route.key for f in ROUTES]  # type: ignore[union-attr]
    assert len(keys) == len(set(keys))
    assert "GET /products/{product_id}" in keys


def test_catalog_authorization_matches_the_contract() -> None:
    rule = {f.route.key: (f.route.public, set(f.route.groups)) for f in ROUTES}  # type: ignore[union-attr]
    assert rule["GET /health"] == (True, set())
    assert rule["GET /openapi.json"] == (True, set())
    assert rule["GET /docs"] == (True, set())
    assert rule["GET /products"] == (True, set())
    assert rule["GET /products/{product_id}"] == (True, set())
    assert rule["POST /products"] == (False, {"seller"})
    assert rule["PATCH /products/{product_id}"] == (False, {"seller", "admin"})
    assert rule["DELETE /products/{product_id}"] == (False, {"seller", "admin"})


def test_order_authorization_matches_the_contract() -> None:
    rule = {f.route.key: (f.route.public, set(f.route.groups)) for f in ROUTES}  # type: ignore[union-attr]
    assert rule["POST /orders"] == (False, {"customer"})
    assert rule["GET /orders"] == (False, {"customer"})
    # owner or admin: the object-level check (anyone else 404) is in the function
    assert rule["GET /orders/{order_id}"] == (False, {"customer", "admin"})
    assert rule["POST /orders/{order_id}/cancel"] == (False, {"customer", "admin"})
    assert rule["POST /payments/webhook"] == (True, set())  # signed by the provider, no JWT


@pytest.mark.parametrize("name, env", [
    ("health", ()),
    ("openapi", ()),
    ("docs", ()),
    ("list_products", ("CACHE_URL", "CURSOR_KEY_SECRET_ID", "TABLE_NAME")),
    ("get_product", ("CACHE_URL", "TABLE_NAME")),
    ("create_product", ("CACHE_URL", "TABLE_NAME")),
    ("update_product", ("CACHE_URL", "TABLE_NAME")),
    ("delete_product", ("CACHE_URL", "TABLE_NAME")),
    ("publish_events", ("EVENTS_TOPIC_ARN", "TABLE_NAME")),
    ("invalidate_cache", ("CACHE_URL", "TABLE_NAME")),
    ("create_order", ("CACHE_URL", "TABLE_NAME")),
    ("list_orders", ("CURSOR_KEY_SECRET_ID", "TABLE_NAME")),
    ("get_order", ("TABLE_NAME",)),
    ("cancel_order", ("TABLE_NAME",)),
    ("payment_webhook", ("TABLE_NAME", "WEBHOOK_SECRET_ID")),
    ("process_payments", ("PAYMENT_PROVIDER_TABLE", "TABLE_NAME")),
    ("send_notifications", ("MAIL_SENDER", "TABLE_NAME", "USER_POOL_ID")),
])
def test_grants_give_exactly_these_environment_variables(name: str, env: tuple[str, ...]) -> None:
    assert manifest.get(name).env_names == env


def test_every_grant_has_an_environment_variable() -> None:
    assert set(GRANT_ENV) == set(Grant)


def test_writers_can_read_and_consumers_have_their_sources() -> None:
    for fn in FUNCTIONS:
        if Grant.TABLE_WRITE in fn.grants:
            assert Grant.TABLE_READ in fn.grants, fn.name  # a conditional write re-reads first
    (publisher,) = manifest.stream_consumers()
    assert publisher.name == "publish_events" and isinstance(publisher.source, StreamSource)
    assert publisher.source.pk_prefix == "OUTBOX#"
    assert {Grant.TABLE_STREAM, Grant.EVENTS_PUBLISH, Grant.IDEMPOTENCY} <= set(publisher.grants)
    consumers = {fn.name: fn for fn in manifest.queue_consumers()}
    assert set(consumers) == {"invalidate_cache", "process_payments", "send_notifications"}
    invalidator = consumers["invalidate_cache"]
    assert isinstance(invalidator.source, QueueSource)
    # product changes, and the order events that move a product's stock (its cached stock must go)
    assert set(invalidator.source.event_types) == {"ProductCreated", "ProductUpdated", "ProductDeleted",
                                                    "OrderCreated", "OrderCancelled"}
    assert set(consumers["process_payments"].source.event_types) == {"OrderCreated", "RefundRequested"}
    assert set(consumers["send_notifications"].source.event_types) == {"OrderConfirmed", "OrderCancelled"}
    for fn in consumers.values():
        assert Grant.IDEMPOTENCY in fn.grants, fn.name
        assert fn.queue_visibility_timeout_s >= 6 * fn.timeout_s, fn.name
    assert {Grant.CACHE, Grant.IDEMPOTENCY} <= set(invalidator.grants)
    assert invalidator.queue_visibility_timeout_s == 6 * invalidator.timeout_s
    assert manifest.idempotency_partition(invalidator) == "IDEMPOTENCY#invalidate_cache"


@pytest.mark.parametrize("kwargs", [
    dict(method="GET", path="/x", public=True, groups=("admin",)),
    dict(method="GET", path="/x"),
    dict(method="GET", path="/x", groups=("root",)),
    dict(method="GET", path="x", public=True),
    dict(method="GET", path="/x/<id>", public=True),
    dict(method="GET", path="/x/{Id}", public=True),
    dict(method="GET", path="/x//y", public=True),
], ids=["public-and-groups", "neither", "unknown-group", "relative", "powertools-param", "uppercase-param",
        "empty-segment"])
def test_malformed_routes_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Route(**kwargs)


@pytest.mark.parametrize("name, handler", [("Bad-Name", "functions.Bad-Name.handler.handler"),
                                           ("ok_name", "functions.other.handler.handler"),
                                           ("x", "functions.x.handler.handler")])
def test_malformed_functions_are_rejected(name: str, handler: str) -> None:
    with pytest.raises(ValueError):
        Function(name=name, handler=handler, source=Route("GET", "/x", public=True))
