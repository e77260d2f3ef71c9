"""Time as the domain sees it: RFC 3339 UTC strings with millisecond precision."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    return format_ts(datetime.now(timezone.utc))


def format_ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
