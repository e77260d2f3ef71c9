"""A realistic first invocation for every function: the event it gets in AWS, against the local backend, in the
state a cold container meets most often when it matters (the cache does not have the answer yet).

``first_event(name, backend, run)`` prepares the backend for that run (e.g. drops the cached entry) and returns
the event and the status the function must answer. A function without an entry here is an error: every manifest
entry needs a realistic event to be measured.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable

from bazaar.adapters.cache import LIST_GENERATION_KEY, product_key
from bazaar.domain.events import DomainEvent
from bazaar.domain.payments import signature_header
from bazaar.domain.ids import new_id
from tests.bench.backend import SELLER_SUB, Backend, new_products
from tests.support.events import claims, http_event, sqs_record, stream_insert_record

Event = dict[str, Any]
SELLER = claims(SELLER_SUB, "seller")


def _item(path: str, method: str, **kw: Any) -> Event:
    pid = path.rsplit("/", 1)[1]
    return http_event(method, path, route_key=f"{method} /products/{{product_id}}",
                      path_parameters={"product_id": pid}, **kw)


def _health(b: Backend, run: int) -> tuple[Event, int]:
    return http_event("GET", "/health"), 200


def _openapi(b: Backend, run: int) -> tuple[Event, int]:
    return http_event("GET", "/openapi.json"), 200


def _docs(b: Backend, run: int) -> tuple[Event, int]:
    return http_event("GET", "/docs"), 200


def _get_product(b: Backend, run: int) -> tuple[Event, int]:
    pid = b.products[run % len(b.products)]
    b.valkey().delete(product_key(pid))  # a miss: read from the table, then fill the cache
    return _item(f"/products/{pid}", "GET"), 200


def _list_products(b: Backend, run: int) -> tuple[Event, int]:
    b.valkey().incr(LIST_GENERATION_KEY)  # a miss: query the index, sign the next cursor, fill the cache
    return http_event("GET", "/products", query="limit=20"), 200


def _create_product(b: Backend, run: int) -> tuple[Event, int]:
    body = {"name": f"Cold {run}", "description": "A new listing", "price_cents": 2500, "currency": "EUR",
            "stock": 7}
    return http_event("POST", "/products", body=body, claims=SELLER), 201


def _update_product(b: Backend, run: int) -> tuple[Event, int]:
    pid = b.products[run % len(b.products)]
    return _item(f"/products/{pid}", "PATCH", body={"price_cents": 1000 + run, "stock": 500},
                 claims=SELLER), 200


def _delete_product(b: Backend, run: int) -> tuple[Event, int]:
    [pid] = new_products(b, 1)
    return _item(f"/products/{pid}", "DELETE", claims=SELLER), 204


def _product_updated(b: Backend, run: int) -> DomainEvent:
    pid = b.products[run % len(b.products)]
    product = {"product_id": pid, "seller_id": SELLER_SUB, "name": f"Bench {run}", "description": "",
               "price_cents": 100, "currency": "EUR", "stock": 3, "version": 1000 + run,
               "created_at": "2026-11-30T00:00:00.000Z", "updated_at": "2026-11-30T00:00:00.000Z"}
    return DomainEvent("ProductUpdated", pid, {"product": product, "changed": ["stock"],
                                               "previous_version": 999 + run}, event_id=new_id())


def _publish_events(b: Backend, run: int) -> tuple[Event, int]:
    from bazaar.adapters.dynamo.outbox import outbox_item

    item = outbox_item(_product_updated(b, run))  # what the stream delivers: the outbox item as written
    image = item.serialize()
    keys = {"PK": image["PK"], "SK": image["SK"]}
    record = stream_insert_record(image, keys, b.provisioned.stream_arn, f"{run + 1:021d}")
    return {"Records": [record]}, 0


def _invalidate_cache(b: Backend, run: int) -> tuple[Event, int]:
    event = _product_updated(b, run)
    queue_arn = b.provisioned.queues["invalidate_cache"].arn
    record = sqs_record(json.dumps(event.to_message()), event.type, queue_arn)
    return {"Records": [record]}, 0


# --- orders: placed, confirmed and cancelled through the services, as the functions would have ------------------

def _customer_sub(b: Backend) -> str:
    return next(u.sub for u in b.provisioned.users if u.group == "customer")  # a seeded user with an address


def _place(b: Backend, run: int, method: str = "pm_async") -> str:
    """A fresh order of one unit of a seeded product (stock 1000 each): PENDING until paid."""
    from bazaar.adapters.cache import ValkeyCache
    from bazaar.adapters.dynamo.orders import DynamoOrderRepository
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.domain.identity import Actor
    from bazaar.domain.orders import LineRequest, PaymentMethod
    from bazaar.services import orders

    table = b.provisioned.table_name
    actor = Actor(sub=_customer_sub(b), groups=frozenset({"customer"}))
    pid = b.products[run % len(b.products)]
    return orders.place_order(DynamoOrderRepository(table), DynamoProductRepository(table),
                              ValkeyCache.from_url(b.cache_url), actor, [LineRequest(pid, 1)],
                              PaymentMethod(method)).order_id


def _outbox_message(b: Backend, order_id: str, event_type: str) -> dict[str, Any]:
    """The event as the relay publishes it: the outbox item's message."""
    import boto3

    from tests.support.aws import outbox_messages

    ddb = boto3.client("dynamodb", endpoint_url=b.endpoint_url, region_name=b.region)
    return next(m for m in outbox_messages(ddb, b.provisioned.table_name, order_id) if m["type"] == event_type)


def _order_item(path: str, method: str, route: str, order_id: str, **kw: Any) -> Event:
    return http_event(method, path, route_key=f"{method} {route}", path_parameters={"order_id": order_id}, **kw)


def _create_order(b: Backend, run: int) -> tuple[Event, int]:
    body = {"items": [{"product_id": b.products[run % len(b.products)], "quantity": 1}],
            "payment_method": "pm_card_ok"}
    return http_event("POST", "/orders", body=body, claims=claims(_customer_sub(b), "customer"),
                      headers={"idempotency-key": str(uuid.uuid4())}), 201


def _get_order(b: Backend, run: int) -> tuple[Event, int]:
    oid = _place(b, run)
    return _order_item(f"/orders/{oid}", "GET", "/orders/{order_id}", oid,
                       claims=claims(_customer_sub(b), "customer")), 200


def _list_orders(b: Backend, run: int) -> tuple[Event, int]:
    _place(b, run)  # the customer has at least one order
    return http_event("GET", "/orders", query="limit=20", claims=claims(_customer_sub(b), "customer")), 200


def _cancel_order(b: Backend, run: int) -> tuple[Event, int]:
    oid = _place(b, run)
    return _order_item(f"/orders/{oid}/cancel", "POST", "/orders/{order_id}/cancel", oid,
                       claims=claims(_customer_sub(b), "customer")), 200


def _payment_webhook(b: Backend, run: int) -> tuple[Event, int]:
    oid = _place(b, run)  # pm_async: waits for the provider's word
    raw = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "type": "payment.succeeded", "order_id": oid})
    signed = signature_header(b.provisioned.webhook_secret.encode(), int(time.time()), raw.encode())
    return http_event("POST", "/payments/webhook", body=raw,
                      headers={"content-type": "application/json", "bazaar-signature": signed}), 200


def _process_payments(b: Backend, run: int) -> tuple[Event, int]:
    oid = _place(b, run, "pm_card_ok")  # a new order to charge
    message = _outbox_message(b, oid, "OrderCreated")
    return {"Records": [sqs_record(json.dumps(message), message["type"],
                                   b.provisioned.queues["process_payments"].arn)]}, 0


def _verify_senders(b: Backend) -> None:
    """The template gives the function its stage's sender (orders@<stage>.<domain>), an SES identity the stage's
    stack creates; the backend was provisioned for the local stage only."""
    import boto3

    from bazaar import resources

    ses = boto3.client("sesv2", endpoint_url=b.endpoint_url, region_name=b.region)
    known = {i["IdentityName"] for i in ses.list_email_identities()["EmailIdentities"]}
    for stage in ("dev", "staging", "prod"):
        if resources.mail_sender(stage) not in known:
            ses.create_email_identity(EmailIdentity=resources.mail_sender(stage))


def _send_notifications(b: Backend, run: int) -> tuple[Event, int]:
    from bazaar.adapters.dynamo.orders import DynamoOrderRepository
    from bazaar.services import payments

    _verify_senders(b)

    oid = _place(b, run)
    payments.apply_webhook(DynamoOrderRepository(b.provisioned.table_name), "payment.succeeded", oid)
    message = _outbox_message(b, oid, "OrderConfirmed")  # the customer's and the seller's e-mails
    return {"Records": [sqs_record(json.dumps(message), message["type"],
                                   b.provisioned.queues["send_notifications"].arn)]}, 0


FIRST_EVENTS: dict[str, Callable[[Backend, int], tuple[Event, int]]] = {
    "health": _health,
    "openapi": _openapi,
    "docs": _docs,
    "get_product": _get_product,
    "list_products": _list_products,
    "create_product": _create_product,
    "update_product": _update_product,
    "delete_product": _delete_product,
    "publish_events": _publish_events,
    "invalidate_cache": _invalidate_cache,
    "create_order": _create_order,
    "get_order": _get_order,
    "list_orders": _list_orders,
    "cancel_order": _cancel_order,
    "payment_webhook": _payment_webhook,
    "process_payments": _process_payments,
    "send_notifications": _send_notifications,
}


def first_event(name: str, backend: Backend, run: int) -> tuple[Event, int]:
    """(event, expected status); status 0 means a batch consumer that must report no failed item."""
    if name not in FIRST_EVENTS:
        raise KeyError(f"no realistic first event for {name}: add one to tests/bench/events.py")
    return FIRST_EVENTS[name](backend, run)
