"""Identifiers: ULIDs (time-ordered, 26 Crockford base32 characters), opaque to clients."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # also what the OpenAPI document says an id looks like
_ULID = re.compile(ID_PATTERN)


def new_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    out = []
    for _ in range(26):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def is_valid_id(value: str) -> bool:
    """Cheap shape check before any lookup: a malformed id can't exist, and oversized keys would make DynamoDB fail."""
    return bool(_ULID.fullmatch(value))
