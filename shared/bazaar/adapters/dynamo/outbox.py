"""Turns domain events into outbox items written in the same transaction as the change they describe."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

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


def _hours(start: datetime, end: datetime) -> list[str]:
    hour = start.replace(minute=0, second=0, microsecond=0)
    out = []
    while hour <= end:
        out.append(hour.strftime("%Y-%m-%dT%H"))
        hour += timedelta(hours=1)
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def events_between(start: datetime, end: datetime) -> list[OutboxItem]:
    """Outbox items whose event occurred within [start, end] (GSI1, one query per hour). Items expire 7 days after
    their event: older ones are gone."""
    found: dict[str, OutboxItem] = {}
    low, high = _iso(start), _iso(end) + "~"  # "~" sorts after the "#<event id>" suffix
    for hour in _hours(start, end):
        for item in OutboxItem.by_time.query(f"OUTBOX#{hour}", OutboxItem.GSI1SK.between(low, high)):
            found.setdefault(item.event_id, item)
    return sorted(found.values(), key=lambda i: (i.occurred_at, i.event_id))


def reinsert(item: OutboxItem, now: datetime | None = None) -> OutboxItem:
    """Write a copy of an outbox item under a new sort key: a fresh INSERT on the stream, so the relay publishes
    the event again through the normal path (once: the relay is idempotent on the event id, so an event that
    did get out meanwhile is not published twice). The copy is not indexed, so later redrives skip it."""
    moment = now or datetime.now(timezone.utc)
    copy = OutboxItem(item.PK, f"REDRIVE#{_iso(moment)}", event_id=item.event_id, event_type=item.event_type,
                      aggregate_id=item.aggregate_id, occurred_at=item.occurred_at, payload=item.payload,
                      ttl=moment + OUTBOX_RETENTION)
    copy.save(condition=OutboxItem.SK.does_not_exist())
    return copy
