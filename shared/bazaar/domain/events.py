"""Domain events: one per state change, written to the outbox in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bazaar.domain.clock import utc_now
from bazaar.domain.ids import new_id


@dataclass(frozen=True)
class DomainEvent:
    type: str  # e.g. "ProductCreated"; consumers' SNS filter policies match on it
    aggregate_id: str
    data: dict[str, Any]
    event_id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=utc_now)

    def to_message(self) -> dict[str, Any]:
        """The message body every consumer receives (JSON)."""
        return {
            "event_id": self.event_id,
            "type": self.type,
            "aggregate_id": self.aggregate_id,
            "occurred_at": self.occurred_at,
            "data": self.data,
        }
