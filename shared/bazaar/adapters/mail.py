"""E-mail through Amazon SES (v2 API), from the stage's verified sender identity."""

from __future__ import annotations

from typing import Any, Optional

from botocore.exceptions import ClientError

from bazaar.adapters import sdk


class MailNotSent(Exception):
    """SES did not accept a message. Only SES's error code is kept: its messages can name addresses (e.g.
    "Email address not verified <address>"), and this exception ends up in the function's error log."""

    def __init__(self, code: str) -> None:
        super().__init__(f"SES did not accept the message: {code}")
        self.code = code


class SesNotifier:
    def __init__(self, sender: str, client: Optional[Any] = None) -> None:
        self._sender = sender
        self._ses = client or sdk.client("sesv2")

    def send(self, to_address: str, subject: str, text: str) -> str:
        try:
            result = self._ses.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to_address]},
                Content={"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}}},
            )
        except ClientError as exc:
            # `from None`: the traceback must not print the ClientError (and its message) as the context either.
            raise MailNotSent(str(exc.response.get("Error", {}).get("Code") or "Unknown")) from None
        return str(result["MessageId"])
