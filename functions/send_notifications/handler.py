"""SQS consumer of ``OrderConfirmed`` and ``OrderCancelled``: e-mails the customer (both) and each seller with
products in the order (confirmed) through SES. Exactly once per event id and recipient: each e-mail has its own
idempotency record (event id, recipient, role), so a replayed event sends nothing and a retry after a partial
failure sends only what is missing. The e-mails are the only effect, so the event needs no record of its own (it
would cost two more writes per event). Addresses come from Cognito and never appear in logs."""

from contextvars import ContextVar
from typing import Any, Mapping

from bazaar import wiring
from bazaar.consumers import SQS, batch_handler, exactly_once
from bazaar.observability import logger
from bazaar.schemas import compiled
from bazaar.services import notifications

NAME = "send_notifications"
# Validated by the compiled validators of the models (bazaar.schemas.compiled: no pydantic import).
EVENT_MESSAGE = compiled.model("bazaar.schemas.events:EventMessage")
ORDER_EVENT_DATA = compiled.model("bazaar.schemas.order_events:OrderEventData")


# E-mails handled in this delivery (the others were handled by an earlier one: their records answered instead).
_handled: ContextVar[int] = ContextVar("handled", default=0)


def _send(message: dict[str, Any]) -> dict[str, Any]:
    _handled.set(_handled.get() + 1)
    return notifications.send_one(wiring.user_directory(), wiring.notifier(), message)


send_once = exactly_once(NAME, _send, key_jmespath="[event_id, recipient, role]")


def apply_event(message: dict[str, Any]) -> dict[str, Any]:
    data = ORDER_EVENT_DATA.model_validate(message["data"]).model_dump()  # refuses a malformed event (DLQ)
    _handled.set(0)
    count = notifications.notify(message["event_id"], message["type"], data, send_once)
    replayed = count - _handled.get()
    logger.info("order event notified", extra={"event_type": message["type"], "event_id": message["event_id"],
                                               "notifications": count, "replayed": replayed})
    return {"notifications": count, "replayed": replayed}


def record_handler(record: Mapping[str, Any]) -> None:
    message = EVENT_MESSAGE.model_validate_json(record["body"])  # a malformed message fails here and goes to the DLQ
    apply_event(message.model_dump())


handler = batch_handler(NAME, SQS, record_handler)
