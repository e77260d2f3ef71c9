"""E-mail through Amazon SES (v2 API), from the stage's verified sender identity."""

from __future__ import annotations

from typing import Any, Optional

import boto3


class SesNotifier:
    def __init__(self, sender: str, client: Optional[Any] = None) -> None:
        self._sender = sender
        self._ses = client or boto3.client("sesv2")

    def send(self, to_address: str, subject: str, text: str) -> str:
        result = self._ses.send_email(
            FromEmailAddress=self._sender,
            Destination={"ToAddresses": [to_address]},
            Content={"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}}},
        )
        return str(result["MessageId"])
