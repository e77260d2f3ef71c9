"""Turns domain events into outbox items written in the same transaction as the change they describe."""

from __future__ import annotations

import json
from datetime import timedelta, timezone, datetime

from bazaar.adapters.dynamo.models import OutboxItem, outbox_keys
from bazaar.domain.events import DomainEvent

OUTBOX_RETENTION = timedelta(days=7)  # well past the stream's 24 h retention: the publisher has read it by then


def time_partition(occurred_at: str) -> str:
    """The outbox's GSI1 partition of an event: its hour (``OUTBOX#2026-11-30T14``)."""
    return f"OUTBOX#{occurred_at[:13]}"


def outbox_item(event: DomainEvent) -> OutboxItem:
    pk, sk = outbox_keys(event.event_id)
    return OutboxItem(
        pk,
        sk,
        GSI1PK=time_partition(event.occurred_at),
        GSI1SK=f"{event.occurred_at}#{event.event_id}",
        event_id=event.event_id,
        event_type=event.type,
        aggregate_id=event.aggregate_id,
        occurred_at=event.occurred_at,
        payload=json.dumps(event.to_message(), separators=(",", ":")),
        ttl=datetime.now(timezone.utc) + OUTBOX_RETENTION,
    )
