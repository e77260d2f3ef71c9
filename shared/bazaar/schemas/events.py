"""The message every event consumer receives (the outbox payload relayed through SNS, raw delivery).

The consumers validate it with its compiled validator (``bazaar.schemas.compiled``); the payload models of
``data`` are in their own modules (``bazaar.schemas.order_events``), each compiled on its own, so a consumer builds
only the validators it uses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventMessage(BaseModel):
    # newer producers may add fields; old consumers keep working
    model_config = ConfigDict(extra="ignore", defer_build=True)

    event_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    aggregate_id: str = Field(min_length=1, max_length=128)
    occurred_at: str
    data: dict[str, Any]
