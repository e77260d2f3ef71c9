"""SQS consumer of ``OrderCreated`` and ``RefundRequested``: charges new orders through the payment provider
(idempotency key = order id) and confirms, cancels or leaves them pending; asks for refunds (key = order id +
"-refund"). Exactly once per event id, and each effect is conditional (see bazaar.services.payments)."""

from typing import Any, Mapping

from bazaar import wiring
from bazaar.consumers import SQS, batch_handler, exactly_once
from bazaar.domain.orders import ORDER_CREATED, REFUND_REQUESTED
from bazaar.observability import logger
from bazaar.schemas import compiled
from bazaar.services import payments

NAME = "process_payments"
# Validated by the compiled validators of the models (bazaar.schemas.compiled: no pydantic import).
EVENT_MESSAGE = compiled.model("bazaar.schemas.events:EventMessage")
REFUND_REQUESTED_DATA = compiled.model("bazaar.schemas.order_events:RefundRequestedData")


def apply_event(message: dict[str, Any]) -> dict[str, Any]:
    if message["type"] == ORDER_CREATED:
        result = payments.charge_new_order(wiring.orders(), wiring.payment_provider(), message["aggregate_id"])
    elif message["type"] == REFUND_REQUESTED:
        data = REFUND_REQUESTED_DATA.model_validate(message["data"]).model_dump()
        result = payments.refund(wiring.payment_provider(), data)
    else:  # not subscribed: only a misrouted message gets here
        result = {"ignored": message["type"]}
    logger.info("payment event applied", extra={"event_type": message["type"], "event_id": message["event_id"],
                                                "order_id": message["aggregate_id"], **result})
    return result


apply_once = exactly_once(NAME, apply_event)


def record_handler(record: Mapping[str, Any]) -> None:
    message = EVENT_MESSAGE.model_validate_json(record["body"])  # a malformed message fails here and goes to the DLQ
    apply_once(message.model_dump())


handler = batch_handler(NAME, SQS, record_handler)
