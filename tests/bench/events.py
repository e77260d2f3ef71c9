"""A realistic first invocation for every function: the event it gets in AWS, against the local backend, in the
state a cold container meets most often when it matters (the cache does not have the answer yet).

``first_event(name, backend, run)`` prepares the backend for that run (e.g. drops the cached entry) and returns
the event and the status the function must answer. A function without an entry here is an error: every manifest
entry needs a realistic event to be measured.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from bazaar.adapters.cache import LIST_GENERATION_KEY, product_key
from bazaar.domain.events import DomainEvent
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
}


def first_event(name: str, backend: Backend, run: int) -> tuple[Event, int]:
    """(event, expected status); status 0 means a batch consumer that must report no failed item."""
    if name not in FIRST_EVENTS:
        raise KeyError(f"no realistic first event for {name}: add one to tests/bench/events.py")
    return FIRST_EVENTS[name](backend, run)
