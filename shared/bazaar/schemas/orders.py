"""Request and response bodies of the order and payment routes (contract §3-§5). The order event payloads the
consumers read are in ``bazaar.schemas.order_events``."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bazaar.domain.ids import ID_PATTERN
from bazaar.domain.orders import MAX_LINES, MAX_QUANTITY
from bazaar.schemas import rules
from bazaar.schemas.numbers import WHOLE_NUMBER

Currency = Literal["EUR", "USD", "GBP"]
PaymentMethodName = Literal["pm_card_ok", "pm_card_declined", "pm_async"]
OrderStatusName = Literal["PENDING", "CONFIRMED", "CANCELLED"]
CancelReasonName = Literal["payment_declined", "payment_failed", "cancelled_by_customer", "cancelled_by_admin"]
# defer_build: a model is built when first used (the document, the compiler, tests); the functions run the compiled
# validators (bazaar.schemas.compiled).
_STRICT = ConfigDict(strict=True, extra="forbid", defer_build=True)
_DEFERRED = ConfigDict(defer_build=True)


class NewOrderLine(BaseModel):
    model_config = _STRICT

    # The id's shape is in the document (a pattern), so a client and a fuzzer know it without trying.
    product_id: str = Field(pattern=ID_PATTERN)
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), WHOLE_NUMBER]


class NewOrder(BaseModel):
    model_config = _STRICT

    items: Annotated[list[NewOrderLine], Field(min_length=1, max_length=MAX_LINES),
                     AfterValidator(rules.distinct_products)]
    payment_method: PaymentMethodName


class OrderLineOut(BaseModel):
    model_config = _DEFERRED

    product_id: str
    seller_id: str
    name: str
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    model_config = _DEFERRED

    order_id: str
    customer_id: str
    status: OrderStatusName
    items: list[OrderLineOut]
    total_cents: int
    currency: Currency
    payment_method: PaymentMethodName
    created_at: str
    updated_at: str
    # Present once the order is cancelled, absent before (contract §3), never null.
    cancel_reason: Optional[CancelReasonName] = Field(default=None, exclude_if=lambda v: v is None)


class OrderPageOut(BaseModel):
    model_config = _DEFERRED

    items: list[OrderOut]
    next_cursor: Optional[str]


class WebhookEvent(BaseModel):
    """A payment provider's event (contract §5). Fields this version does not know are ignored: providers add
    fields over time."""

    model_config = ConfigDict(strict=True, extra="ignore", defer_build=True)

    event_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    type: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=64)


class WebhookReceipt(BaseModel):
    model_config = _DEFERRED

    event_id: str
    order_id: str
    effect: str  # confirmed | cancelled | refund_requested | no_change | ignored
    status: Optional[OrderStatusName] = None
