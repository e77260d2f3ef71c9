"""SQS consumer of product events: brings the cache in line with each change (backstop for the synchronous
eviction in the write path, e.g. when the cache was unreachable then). Exactly once per event id; a message that
cannot be applied is retried, then lands in the DLQ."""

from functools import lru_cache
from typing import Any, Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import wiring
from bazaar.consumers import idempotency
from bazaar.observability import logger, tracer
from bazaar.schemas.events import EventMessage
from bazaar.services import catalog

NAME = "invalidate_cache"
processor = BatchProcessor(event_type=EventType.SQS)


class CacheUnavailable(RuntimeError):
    """Retry later: the eviction must happen, the cache just isn't reachable now."""


def apply_event(message: dict[str, Any]) -> dict[str, Any]:
    if not catalog.apply_product_event(wiring.cache(), message["type"], message["data"], message["aggregate_id"]):
        raise CacheUnavailable("cache unreachable")
    logger.info("cache brought in line", extra={"event_type": message["type"], "event_id": message["event_id"],
                                                "aggregate_id": message["aggregate_id"]})
    return {"applied": message["event_id"]}


@lru_cache(maxsize=1)
def _apply_once() -> Callable[..., dict[str, Any]]:
    persistence, config = idempotency(NAME)
    return idempotent_function(data_keyword_argument="message", config=config,
                               persistence_store=persistence)(apply_event)


def record_handler(record: SQSRecord) -> None:
    message = EventMessage.model_validate_json(record.body)  # a malformed message fails here and goes to the DLQ
    _apply_once()(message=message.model_dump())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency(NAME)[1].register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
