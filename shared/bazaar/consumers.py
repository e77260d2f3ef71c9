"""What every event consumer shares: exactly-once effects keyed on the event id (Powertools idempotency on the
single table) and partial batch responses, so one bad record never blocks the rest.

Partial batch responses are a loop of ours (``process_batch``), not Powertools' batch utility: importing
``aws_lambda_powertools.utilities.batch`` imports every Powertools parser model (pydantic), asyncio, and the event
source data classes, whatever processor is used. ``-X importtime`` measured 86-130 ms for it in the consumers
(95 ms with pydantic already loaded), about 30 % of the floor a Python Lambda that calls DynamoDB pays at all
(docs/cold-starts.md); the loop below is what ``BatchProcessor`` + ``process_partial_response`` did for us.

Idempotency stays Powertools' (``idempotent_function``, ``IdempotencyConfig``: in-progress records that expire
with the invocation's deadline, completed records with the stored result and a TTL, payload validation), with
records written over botocore by ``bazaar.adapters.dynamo.idempotency`` (no boto3 and no second SDK session; the
figures are there).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from bazaar import manifest, settings, wiring
from bazaar.adapters.dynamo.idempotency import BotocorePersistenceLayer  # first: Powertools' package without boto3
from bazaar.observability import logger, traced

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function  # noqa: I001

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

IDEMPOTENCY_TTL_S = 7 * 24 * 3600  # longer than any redelivery: SQS retention 4 days, stream 24 h
EVENT_KEY = "event_id"

Effect = Callable[[dict[str, Any]], dict[str, Any]]
Record = Mapping[str, Any]
_wrapped_effects: list[Any] = []  # lru-cached wrappers, forgotten by reset()


# --- partial batch responses ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordSource:
    """An event source that delivers batches: how Lambda names one of its records in ``batchItemFailures``."""

    name: str
    item_identifier: Callable[[Record], str]


SQS = RecordSource("SQS", lambda record: record["messageId"])
DYNAMODB_STREAMS = RecordSource("DynamoDBStreams", lambda record: record["dynamodb"]["SequenceNumber"])


class BatchFailed(Exception):
    """Every record of the batch failed: the invocation fails, and the event source retries the whole batch (then
    dead-letters it). ``errors`` holds each record's exception, in the batch's order."""

    def __init__(self, errors: list[Exception]) -> None:
        kinds = ", ".join(sorted({type(e).__name__ for e in errors}))
        super().__init__(f"All {len(errors)} records failed processing ({kinds}); each is logged")
        self.errors = errors


def process_batch(event: Mapping[str, Any], record_handler: Callable[[Record], Any],
                  source: RecordSource) -> dict[str, list[dict[str, str]]]:
    """Every record of ``event`` through ``record_handler``, in order; a record whose handler raises is logged (a
    warning with its traceback) and reported in ``batchItemFailures`` by its identifier, so the event source
    retries it alone (an SQS message) or from it on (a stream record). If every record failed, ``BatchFailed``.

    A failed record without its identifier fails the invocation (a ``KeyError``): Lambda then retries the whole
    batch, as it does for an unknown identifier."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError(f"not a {source.name} batch: the event has no Records list")
    failed: list[Record] = []
    errors: list[Exception] = []
    for record in records:
        try:
            record_handler(record)
        except Exception as exc:  # noqa: BLE001 - any failure is the record's: reported, retried, dead-lettered
            failed.append(record)
            errors.append(exc)
            logger.warning("record failed; reported for retry", exc_info=True,
                           extra={"event_source": source.name, "error": type(exc).__name__,
                                  "item_identifier": _identifier_or_none(source, record)})
    if not failed:
        return {"batchItemFailures": []}
    if len(failed) == len(records):
        raise BatchFailed(errors)
    return {"batchItemFailures": [{"itemIdentifier": source.item_identifier(r)} for r in failed]}


def _identifier_or_none(source: RecordSource, record: Record) -> Optional[str]:
    try:
        return source.item_identifier(record)
    except (KeyError, TypeError):
        return None


def batch_handler(function_name: str, source: RecordSource, record_handler: Callable[[Record], Any],
                  on_invoke: Optional[Callable[[LambdaContext], None]] = None) -> Callable[[dict, LambdaContext],
                                                                                           dict]:
    """The Lambda entry point of a batch consumer: every record (the event's own dict) through ``record_handler``;
    the ones that raise are reported in ``batchItemFailures`` and retried (then dead-lettered) by the event source
    (``process_batch``). ``on_invoke`` runs first on each invocation (per-invocation state, e.g. a deadline)."""

    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handler(event: dict, context: LambdaContext) -> dict:
        register_context(function_name, context)
        if on_invoke is not None:
            on_invoke(context)
        return process_batch(event, record_handler, source)

    return handler


# --- exactly once -----------------------------------------------------------------------------------------------

_contexts: dict[str, LambdaContext] = {}  # the current invocation's context, per function
_layers: dict[tuple[str, str, str], tuple[BotocorePersistenceLayer, IdempotencyConfig]] = {}


def idempotency(function_name: str, key_jmespath: str = EVENT_KEY,
                payload_jmespath: str = "") -> tuple[BotocorePersistenceLayer, IdempotencyConfig]:
    """Persistence + config keyed on ``key_jmespath`` of the message (default: its ``event_id``) for one function;
    with ``payload_jmespath``, a repeat whose payload differs there is refused (IdempotencyValidationError).

    One persistence layer per key: Powertools keeps the first config a layer was used with (recipes §5). All of a
    function's records share its partition (``IDEMPOTENCY#<name>``, the only one IAM lets it write)."""
    key = (function_name, key_jmespath, payload_jmespath)
    if key not in _layers:
        persistence = BotocorePersistenceLayer(
            table_name=settings.table_name,
            static_pk_value=manifest.idempotency_partition(manifest.get(function_name)),
            client=wiring.dynamodb_client,
            key_attr="PK",
            sort_key_attr="SK",
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
