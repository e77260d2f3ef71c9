"""Opaque, tamper-evident pagination cursors.

A cursor is the DynamoDB ``LastEvaluatedKey`` plus the listing it belongs to, serialised and authenticated with
HMAC-SHA256. A modified cursor, or one from another listing, fails verification and the request gets a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Callable

MAX_CURSOR_LENGTH = 1024


class BadCursor(ValueError):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, scope: str, payload: bytes) -> bytes:
    return hmac.new(key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]


def encode_cursor(position: dict[str, Any], scope: str, key: bytes) -> str:
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, scope, payload))}"


def decode_cursor(cursor: str, scope: str, key: bytes) -> dict[str, Any]:
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise BadCursor("malformed cursor")
    body, tag = cursor.split(".")
    try:
        payload, mac = _unb64(body), _unb64(tag)
    except (ValueError, TypeError) as exc:
        raise BadCursor("malformed cursor") from exc
    if not hmac.compare_digest(mac, _mac(key, scope, payload)):
        raise BadCursor("cursor was modified or belongs to another listing")
    try:
        position = json.loads(payload)
    except ValueError as exc:  # only reachable with the right key: still never a 500
        raise BadCursor("malformed cursor") from exc
    if not isinstance(position, dict):
        raise BadCursor("malformed cursor")
    return position


class SignedCursors:
    """``bazaar.domain.ports.Cursors`` for one listing (``scope``). The key is fetched on first use only: a
    cached first page needs no key at all."""

    def __init__(self, scope: str, key: Callable[[], bytes]) -> None:
        self._scope = scope
        self._key = key

    def encode(self, position: dict[str, Any]) -> str:
        return encode_cursor(position, self._scope, self._key())

    def decode(self, cursor: str) -> dict[str, Any]:
        return decode_cursor(cursor, self._scope, self._key())
