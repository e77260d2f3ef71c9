"""The order event payloads consumers read (the ``data`` of an ``EventMessage``). Unknown fields are ignored, so
newer producers never break them.

Each model is built on its first validation (``defer_build``), not when this module is imported: a consumer pays
only for the payloads it reads (``invalidate_cache`` builds ``OrderEventData`` at its first stock event,
``process_payments`` ``RefundRequestedData`` at its first refund)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class OrderEventLine(_Lenient):
    product_id: str
    seller_id: str
    name: str
    quantity: int
    unit_price_cents: int


class OrderEventOrder(_Lenient):
    order_id: str
    customer_id: str
    status: str
    items: list[OrderEventLine]
    total_cents: int
    currency: str
    cancel_reason: Optional[str] = None


class StockLine(_Lenient):
    product_id: str
    quantity: int


class OrderEventData(_Lenient):
    """``OrderCreated``/``OrderConfirmed``/``OrderCancelled`` data."""

    order: OrderEventOrder
    reason: Optional[str] = None
    released: list[StockLine] = []
    refund_requested: bool = False

    def stock_product_ids(self, event_type: str) -> list[str]:
        """The products whose stock this event moved."""
        if event_type == "OrderCreated":
            return [line.product_id for line in self.order.items]
        return [line.product_id for line in self.released]


class RefundRequestedData(_Lenient):
    order_id: str
    amount_cents: int
    currency: str
    idempotency_key: str
