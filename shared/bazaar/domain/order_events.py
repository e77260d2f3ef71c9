"""The order events' names, and what their data says about stock (pure).

A module of its own so that what only reads events (notifications, the cache backstop) does not import the order
model with its dataclasses: defining them is most of ``bazaar.domain.orders``'s import (about 7 ms of a cold start).
"""

from __future__ import annotations

from typing import Any, Mapping

ORDER_CREATED = "OrderCreated"
ORDER_CONFIRMED = "OrderConfirmed"
ORDER_CANCELLED = "OrderCancelled"
REFUND_REQUESTED = "RefundRequested"
ORDER_EVENTS = (ORDER_CREATED, ORDER_CONFIRMED, ORDER_CANCELLED, REFUND_REQUESTED)
STOCK_EVENTS = (ORDER_CREATED, ORDER_CANCELLED)  # the ones that move a product's stock


def stock_product_ids(event_type: str, data: Mapping[str, Any]) -> list[str]:
    """The products whose stock an order event (its ``data``, validated) moved: the order's lines when it was
    created, the lines it gave back otherwise."""
    lines = data["order"]["items"] if event_type == ORDER_CREATED else data.get("released", [])
    return [line["product_id"] for line in lines]
