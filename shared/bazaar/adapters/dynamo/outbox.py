"""Turns domain events into outbox items written in the same transaction as the change they describe."""

from __future__ import annotations

import json
from datetime import timedelta, timezone, datetime

from bazaar.adapters.dynamo.models import OutboxItem, outbox_keys
from bazaar.domain.events import DomainEvent

OUTBOX_RETENTION = timedelta(days=7)  # well past the stream's 24 h retention: the publisher has read it by then


def outbox_item(event: DomainEvent) -> OutboxItem:
    pk, sk = outbox_keys(event.event_id)
    return OutboxItem(
        pk,
        sk,
        event_id=event.event_id,
        event_type=event.type,
        aggregate_id=event.aggregate_id,
        occurred_at=event.occurred_at,
        payload=json.dumps(event.to_message(), separators=(",", ":")),
        ttl=datetime.now(timezone.utc) + OUTBOX_RETENTION,
    )
