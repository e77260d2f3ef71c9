"""The order event payloads consumers read (the ``data`` of an ``EventMessage``). Unknown fields are ignored, so
newer producers never break them.

The consumers validate with these models' compiled validators (``bazaar.schemas.compiled``), each built on its
first validation: a consumer pays only for the payloads it reads (``invalidate_cache`` builds ``OrderEventData``'s
at its first stock event, ``process_payments`` ``RefundRequestedData``'s at its first refund)."""

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


class RefundRequestedData(_Lenient):
    order_id: str
    amount_cents: int
    currency: str
    idempotency_key: str
