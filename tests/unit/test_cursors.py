"""Pagination cursors (bazaar.web.cursors): opaque, authenticated, bound to one listing."""

from __future__ import annotations

import base64
import json

import pytest

from bazaar.web.cursors import MAX_CURSOR_LENGTH, BadCursor, decode_cursor, encode_cursor

KEY = b"k" * 32
SCOPE = "products:*"
POSITION = {"PK": {"S": "PRODUCT#01ABC"}, "SK": {"S": "PRODUCT"}, "GSI1PK": {"S": "PRODUCTS"},
            "GSI1SK": {"S": "2026-11-28T10:00:00.000Z#01ABC"}}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def cursor() -> str:
    return encode_cursor(POSITION, SCOPE, KEY)


def test_round_trip(cursor: str) -> None:
    assert decode_cursor(cursor, SCOPE, KEY) == POSITION


def test_is_opaque_and_url_safe(cursor: str) -> None:
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert "PRODUCT#" not in cursor


def test_deterministic_for_the_same_position(cursor: str) -> None:
    assert encode_cursor(dict(reversed(list(POSITION.items()))), SCOPE, KEY) == cursor


@pytest.mark.parametrize("part", [0, 1], ids=["payload", "tag"])
def test_every_flipped_bit_is_detected(cursor: str, part: int) -> None:
    pieces = cursor.split(".")
    raw = unb64(pieces[part])
    for i in range(len(raw)):
        for bit in (0x01, 0x80):
            flipped = bytearray(raw)
            flipped[i] ^= bit
            tampered = pieces.copy()
            tampered[part] = b64(bytes(flipped))
            with pytest.raises(BadCursor):
                decode_cursor(".".join(tampered), SCOPE, KEY)


def test_forged_position_with_the_old_tag(cursor: str) -> None:
    forged = dict(POSITION, GSI1SK={"S": "9999#zzz"})
    payload = json.dumps(forged, separators=(",", ":"), sort_keys=True).encode()
    with pytest.raises(BadCursor):
        decode_cursor(f"{b64(payload)}.{cursor.split('.')[1]}", SCOPE, KEY)


@pytest.mark.parametrize("cut", [1, 2, 5], ids=["-1", "-2", "-5"])
def test_truncated(cursor: str, cut: int) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor[:-cut], SCOPE, KEY)
    with pytest.raises(BadCursor):
        decode_cursor(cursor[cut:], SCOPE, KEY)


def test_other_scope_or_key(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor, "products:seller-1", KEY)
    with pytest.raises(BadCursor):
        decode_cursor(cursor, SCOPE, b"another key")


@pytest.mark.parametrize("garbage", [
    "", ".", "..", "abc", "a.b.c", "not base64!.x", "ü.ü", "%%%.%%%", "\x00.\x00", "eyJ.eyJ", "=.=", " . ",
    f"{b64(b'[1,2]')}.{b64(b'x' * 16)}", "A" * 100 + "." + "B",
], ids=["empty", "dot", "dots", "no-dot", "three-parts", "bang", "unicode", "percent", "nul", "jwt-ish", "padding",
        "spaces", "json-list-bad-tag", "long-garbage"])
def test_garbage(garbage: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(garbage, SCOPE, KEY)


def test_oversized_is_rejected_before_any_work(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor + "A" * MAX_CURSOR_LENGTH, SCOPE, KEY)
    with pytest.raises(BadCursor):
        decode_cursor("A" * 10**6 + "." + "B", SCOPE, KEY)


@pytest.mark.parametrize("payload", [b"[1,2]", b'"s"', b"7", b"null", b"{not json", b"\xff\xfe"],
                         ids=["list", "string", "number", "null", "bad-json", "not-utf8"])
def test_authentic_but_not_a_position(payload: bytes) -> None:
    """Even a correctly signed cursor must decode to an object (only reachable with the key: never a 500)."""
    import hashlib
    import hmac

    tag = hmac.new(KEY, SCOPE.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]
    with pytest.raises(BadCursor):
        decode_cursor(f"{b64(payload)}.{b64(tag)}", SCOPE, KEY)


def test_bad_cursor_is_a_value_error() -> None:
    assert issubclass(BadCursor, ValueError)
