"""SQS consumer of product events and of the order events that move stock: brings the cache in line with each
change (backstop for the synchronous eviction in the write path, e.g. when the cache was unreachable then); for
orders, which change stock but not the version, the entry is refreshed from the table. Exactly once per event id;
a message that cannot be applied is retried, then lands in the DLQ."""

from typing import Any, Mapping

from bazaar import wiring
from bazaar.consumers import SQS, batch_handler, exactly_once
from bazaar.domain.order_events import STOCK_EVENTS, stock_product_ids
from bazaar.observability import logger
from bazaar.schemas import compiled
from bazaar.services import catalog

NAME = "invalidate_cache"
# Validated by the compiled validators of the models (bazaar.schemas.compiled: no pydantic import).
EVENT_MESSAGE = compiled.model("bazaar.schemas.events:EventMessage")
ORDER_EVENT_DATA = compiled.model("bazaar.schemas.order_events:OrderEventData")


class CacheUnavailable(RuntimeError):
    """Retry later: the eviction must happen, the cache just isn't reachable now."""


def apply_event(message: dict[str, Any]) -> dict[str, Any]:
    if message["type"] in STOCK_EVENTS:
        data = ORDER_EVENT_DATA.model_validate(message["data"]).model_dump()
        product_ids = stock_product_ids(message["type"], data)
        ok = catalog.refresh_stock(wiring.products(), wiring.cache(), product_ids)
    else:
        ok = catalog.apply_product_event(wiring.cache(), message["type"], message["data"], message["aggregate_id"])
    if not ok:
        raise CacheUnavailable("cache unreachable")
    logger.info("cache brought in line", extra={"event_type": message["type"], "event_id": message["event_id"],
                                                "aggregate_id": message["aggregate_id"]})
    return {"applied": message["event_id"]}


apply_once = exactly_once(NAME, apply_event)


def record_handler(record: Mapping[str, Any]) -> None:
    message = EVENT_MESSAGE.model_validate_json(record["body"])  # a malformed message fails here and goes to the DLQ
    apply_once(message.model_dump())


handler = batch_handler(NAME, SQS, record_handler)
