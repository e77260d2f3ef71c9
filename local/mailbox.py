"""What the local SES (moto) sent: one JSON line per accepted message in ``<local dir>/mail/sent.jsonl``.

moto keeps sent messages in its SES backend (``ses_backends[account][region].sent_messages``) without a time and
without an API to list them, so the moto child records each accepted message here as it goes out: when, from,
to and the subject. Never the body. ``make mail`` (``python -m local mail``) lists them. The file is the local
mail server's outbox, not a log: it is not under ``logs/`` and nothing logs its contents.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

MAIL_DIR = "mail"
SENT_FILE = "sent.jsonl"
_lock = threading.Lock()
_installed: list[Path] = []


def sent_path(local_dir: Path) -> Path:
    return Path(local_dir) / MAIL_DIR / SENT_FILE


def _record(path: Path, source: str, to: list[str], subject: Optional[str], message_id: str) -> None:
    line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "from": source, "to": to, "subject": subject, "message_id": message_id})
    with _lock, open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def install(local_dir: Path) -> None:
    """Record every message moto's SES accepts (SES v1 and v2 both end in the v1 backend's send methods)."""
    if _installed:
        return
    path = sent_path(local_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # this run's mail only
    from moto.ses.models import SESBackend

    send_email, send_raw_email = SESBackend.send_email, SESBackend.send_raw_email

    def recording_send_email(self: Any, source: str, subject: str, body: str, destinations: dict[str, list[str]],
                             *args: Any, **kwargs: Any) -> Any:
        message = send_email(self, source, subject, body, destinations, *args, **kwargs)
        to = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])]
        _record(path, source, to, subject, message.id)
        return message

    def recording_send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str, *args: Any,
                                 **kwargs: Any) -> Any:
        message = send_raw_email(self, source, destinations, raw_data, *args, **kwargs)
        _record(path, source, list(destinations), None, message.id)
        return message

    SESBackend.send_email = recording_send_email  # type: ignore[method-assign]
    SESBackend.send_raw_email = recording_send_raw_email  # type: ignore[method-assign]
    _installed.append(path)


def read_sent(local_dir: Path) -> Iterator[dict[str, Any]]:
    path = sent_path(local_dir)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
