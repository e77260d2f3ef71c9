"""What every event consumer shares: exactly-once effects keyed on the event id (Powertools idempotency on
the single table) and partial batch responses (Powertools batch), so one bad record never blocks the rest."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Optional

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig,
                                                         idempotent_function)
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest, settings
from bazaar.observability import logger, traced

IDEMPOTENCY_TTL_S = 7 * 24 * 3600  # longer than any redelivery: SQS retention 4 days, stream 24 h
EVENT_KEY = "event_id"

Effect = Callable[[dict[str, Any]], dict[str, Any]]
_wrapped_effects: list[Any] = []  # lru-cached wrappers, forgotten by reset()


_contexts: dict[str, LambdaContext] = {}  # the current invocation's context, per function
_layers: dict[tuple[str, str, str], tuple[DynamoDBPersistenceLayer, IdempotencyConfig]] = {}


def idempotency(function_name: str, key_jmespath: str = EVENT_KEY,
                payload_jmespath: str = "") -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    """Persistence + config keyed on ``key_jmespath`` of the message (default: its ``event_id``) for one function;
    with ``payload_jmespath``, a repeat whose payload differs there is refused (IdempotencyValidationError).

    One persistence layer per key: Powertools keeps the first config a layer was used with (recipes §5). All of a
    function's records share its partition (``IDEMPOTENCY#<name>``, the only one IAM lets it write)."""
    key = (function_name, key_jmespath, payload_jmespath)
    if key not in _layers:
        persistence = DynamoDBPersistenceLayer(
            table_name=settings.table_name(),
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=manifest.idempotency_partition(manifest.get(function_name)),
            expiry_attr="ttl",
        )
        config = IdempotencyConfig(event_key_jmespath=key_jmespath, raise_on_no_idempotency_key=True,
                                   payload_validation_jmespath=payload_jmespath,
                                   expires_after_seconds=IDEMPOTENCY_TTL_S)
        if function_name in _contexts:  # created mid-invocation: it learns the deadline too
            config.register_lambda_context(_contexts[function_name])
        _layers[key] = (persistence, config)
    return _layers[key]


idempotency.cache_clear = _layers.clear  # type: ignore[attr-defined]  # the lru_cache-style reset callers use


def exactly_once(function_name: str, effect: Effect, key_jmespath: str = EVENT_KEY,
                 payload_jmespath: str = "") -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``effect(message)`` run at most once per value of ``key_jmespath`` in the message (a repeat returns the stored
    result). A finer key (e.g. ``[event_id, recipient]``) makes each part of one event's effect happen once, so a
    retry after a partial failure redoes only what failed.

    Wrapped on first call, not at import: the persistence layer needs the table name, which only the
    consumer's own environment has."""

    @lru_cache(maxsize=1)
    def wrapped() -> Callable[..., dict[str, Any]]:
        persistence, config = idempotency(function_name, key_jmespath, payload_jmespath)
        return idempotent_function(data_keyword_argument="message", config=config,
                                   persistence_store=persistence)(effect)

    _wrapped_effects.append(wrapped)
    return lambda message: wrapped()(message=message)


def reset() -> None:
    """Forget persistence layers and wrappers (tests that switch tables between cases)."""
    _layers.clear()
    _contexts.clear()
    for wrapped in _wrapped_effects:
        wrapped.cache_clear()


def register_context(function_name: str, context: LambdaContext) -> None:
    """Every idempotency config of this function learns the invocation's deadline (in-progress records expire
    with it, so a timed-out attempt does not block the retry for longer)."""
    _contexts[function_name] = context
    for (name, _, _), (_, config) in list(_layers.items()):
        if name == function_name:
            config.register_lambda_context(context)


def batch_handler(function_name: str, event_type: EventType, record_handler: Callable[[Any], None],
                  on_invoke: Optional[Callable[[LambdaContext], None]] = None) -> Callable[[dict, LambdaContext],
                                                                                           dict]:
    """The Lambda entry point of a batch consumer: every record through ``record_handler``; the ones that raise
    are reported in ``batchItemFailures`` and retried (then dead-lettered) by the event source. ``on_invoke`` runs
    first on each invocation (per-invocation state, e.g. a deadline)."""
    processor = BatchProcessor(event_type=event_type)

    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handler(event: dict, context: LambdaContext) -> dict:
        register_context(function_name, context)
        if on_invoke is not None:
            on_invoke(context)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)

    return handler
