"""What every event consumer shares: exactly-once effects keyed on the event id (Powertools idempotency on
the single table) and partial batch responses (Powertools batch), so one bad record never blocks the rest."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

from bazaar import manifest, settings

IDEMPOTENCY_TTL_S = 7 * 24 * 3600  # longer than any redelivery: SQS retention 4 days, stream 24 h


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
