"""Notification use cases: e-mail the people an order event concerns, each recipient once per event.

The event carries user ids only; addresses come from the user directory at sending time and are never logged.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from bazaar.domain import notifications
from bazaar.domain.ports import Notifier, UserDirectory
from bazaar.observability import logger

SendOnce = Callable[[dict[str, Any]], dict[str, Any]]


def send_one(directory: UserDirectory, notifier: Notifier, message: Mapping[str, Any]) -> dict[str, Any]:
    """One e-mail (``message``: event_id, recipient, role, subject, text). A user without an address is skipped:
    there is nobody to write to, and retrying would not change that."""
    address = directory.email_of(str(message["recipient"]))
    if address is None:
        logger.warning("notification skipped: no e-mail address",
                       extra={"event_id": message["event_id"], "recipient": message["recipient"]})
        return {"sent": False}
    message_id = notifier.send(address, str(message["subject"]), str(message["text"]))
    logger.info("notification sent", extra={"event_id": message["event_id"], "recipient": message["recipient"],
                                            "role": message["role"], "message_id": message_id})
    return {"sent": True, "message_id": message_id}


def notify(event_id: str, event_type: str, data: Mapping[str, Any], send_once: SendOnce) -> int:
    """Every notification of the event through ``send_once`` (idempotent per event, recipient and role, so a
    retry after a partial failure sends only the missing ones). Returns how many there were."""
    messages = notifications.for_event(event_type, data)
    for n in messages:
        send_once({"event_id": event_id, "recipient": n.recipient_id, "role": n.role, "subject": n.subject,
                   "text": n.text})
    return len(messages)
