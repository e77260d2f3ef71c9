"""The message every event consumer receives (the outbox payload relayed through SNS, raw delivery)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer producers may add fields; old consumers keep working

    event_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    aggregate_id: str = Field(min_length=1, max_length=128)
    occurred_at: str
    data: dict[str, Any]
