"""Publishes domain event messages to the SNS events topic, with the event type as a filterable attribute."""

from __future__ import annotations

import json
from typing import Any, Optional

from botocore.config import Config

from bazaar.adapters import sdk
from bazaar.resources import EVENT_TYPE_ATTRIBUTE


class SnsEventPublisher:
    def __init__(self, topic_arn: str, client: Optional[Any] = None) -> None:
        self._topic_arn = topic_arn
        # Few SDK retries and short timeouts: the relay decides how long to insist (bazaar.services.relay).
        self._sns = client or sdk.client("sns", config=Config(retries={"mode": "standard", "max_attempts": 2},
                                                              connect_timeout=2, read_timeout=5))

    def publish_one(self, message: dict[str, Any]) -> str:
        """Publish one event message; returns the SNS message id. Raises on failure (the caller retries)."""
        result = self._sns.publish(
            TopicArn=self._topic_arn,
            Message=json.dumps(message, separators=(",", ":")),
            MessageAttributes={EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": message["type"]}},
        )
        return str(result["MessageId"])
