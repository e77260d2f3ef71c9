"""What every event consumer shares: exactly-once effects keyed on the event id (Powertools idempotency on
the single table) and partial batch responses (Powertools batch), so one bad record never blocks the rest."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig,
                                                         idempotent_function)
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest, settings
from bazaar.observability import logger, traced

IDEMPOTENCY_TTL_S = 7 * 24 * 3600  # longer than any redelivery: SQS retention 4 days, stream 24 h

Effect = Callable[[dict[str, Any]], dict[str, Any]]
_wrapped_effects: list[Any] = []  # lru-cached wrappers, forgotten by reset()


@lru_cache(maxsize=None)
def idempotency(function_name: str) -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    """Persistence + config keyed on the message's ``event_id`` for one consumer."""
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table_name(),
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=manifest.idempotency_partition(manifest.get(function_name)),
        expiry_attr="ttl",
    )
    config = IdempotencyConfig(event_key_jmespath="event_id", raise_on_no_idempotency_key=True,
                               expires_after_seconds=IDEMPOTENCY_TTL_S)
    return persistence, config


def exactly_once(function_name: str, effect: Effect) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``effect(message)`` run at most once per ``message["event_id"]`` (a repeat returns the stored result).

    Wrapped on first call, not at import: the persistence layer needs the table name, which only the
    consumer's own environment has."""

    @lru_cache(maxsize=1)
    def wrapped() -> Callable[..., dict[str, Any]]:
        persistence, config = idempotency(function_name)
        return idempotent_function(data_keyword_argument="message", config=config,
                                   persistence_store=persistence)(effect)

    _wrapped_effects.append(wrapped)
    return lambda message: wrapped()(message=message)


def reset() -> None:
    """Forget persistence layers and wrappers (tests that switch tables between cases)."""
    idempotency.cache_clear()
    for wrapped in _wrapped_effects:
        wrapped.cache_clear()


def batch_handler(function_name: str, event_type: EventType,
                  record_handler: Callable[[Any], None]) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of a batch consumer: every record through ``record_handler``; the ones that raise
    are reported in ``batchItemFailures`` and retried (then dead-lettered) by the event source."""
    processor = BatchProcessor(event_type=event_type)

    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handler(event: dict, context: LambdaContext) -> dict:
        idempotency(function_name)[1].register_lambda_context(context)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)

    return handler
