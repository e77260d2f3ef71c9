"""Table stream consumer: relays outbox items (written in the same transaction as the change) to the SNS events
topic. The event source mapping only delivers INSERTs of ``OUTBOX#`` items. Exactly once per event id; failed
records are reported so Lambda retries from them, then sends the batch to the on-failure DLQ."""

from functools import lru_cache
from typing import Any, Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import wiring
from bazaar.consumers import idempotency
from bazaar.observability import logger, tracer
from bazaar.schemas.events import EventMessage

NAME = "publish_events"
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def publish(message: dict[str, Any]) -> dict[str, Any]:
    message_id = wiring.event_publisher().publish_one(message)
    logger.info("event published", extra={"event_type": message["type"], "event_id": message["event_id"]})
    return {"message_id": message_id}


@lru_cache(maxsize=1)
def _publish_once() -> Callable[..., dict[str, Any]]:
    persistence, config = idempotency(NAME)
    return idempotent_function(data_keyword_argument="message", config=config, persistence_store=persistence)(publish)


def record_handler(record: DynamoDBRecord) -> None:
    image = (record.dynamodb.new_image if record.dynamodb else None) or {}
    message = EventMessage.model_validate_json(image["payload"])
    _publish_once()(message=message.model_dump())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency(NAME)[1].register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
