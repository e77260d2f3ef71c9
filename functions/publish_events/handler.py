"""Table stream consumer: relays outbox items (written in the same transaction as the change) to the SNS events
topic. The event source mapping only delivers INSERTs of ``OUTBOX#`` items. Exactly once per event id; a topic
outage is retried within the invocation (bazaar.services.relay), then the failed records are reported so Lambda
retries from them, then sends the batch to the on-failure DLQ (``make redrive NAME=publish_events``)."""

import json
from typing import TYPE_CHECKING, Any, Mapping, Optional

from bazaar import wiring
from bazaar.consumers import DYNAMODB_STREAMS, batch_handler, exactly_once
from bazaar.observability import logger
from bazaar.schemas import compiled
from bazaar.services.relay import Relay

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

NAME = "publish_events"
# Validated by the compiled validators of the models (bazaar.schemas.compiled: no pydantic import).
EVENT_MESSAGE = compiled.model("bazaar.schemas.events:EventMessage")


def publish(message: dict[str, Any]) -> dict[str, Any]:
    message_id = wiring.event_publisher().publish_one(message)
    logger.info("event published", extra={"event_type": message["type"], "event_id": message["event_id"]})
    return {"message_id": message_id}


publish_once = exactly_once(NAME, publish)
_relay: Optional[Relay] = None


def start_invocation(context: "LambdaContext") -> None:
    global _relay
    _relay = Relay.for_invocation(publish_once, context.get_remaining_time_in_millis())


def record_handler(record: Mapping[str, Any]) -> None:
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    payload = image["payload"]["S"]  # absent or not a string: the record fails
    EVENT_MESSAGE.model_validate_json(payload)  # refuse to relay a malformed event (fails to the DLQ)
    assert _relay is not None
    _relay.relay(json.loads(payload))  # relayed as written: fields this version doesn't know survive


handler = batch_handler(NAME, DYNAMODB_STREAMS, record_handler, on_invoke=start_invocation)
