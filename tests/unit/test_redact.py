"""Log redaction (bazaar.observability): no token, password, secret, signature or e-mail reaches a log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bazaar.observability import REDACTED, RedactingFormatter, redact

JWT = ("eyJraWQiOiJkdW1teSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJ1MSIsImNvZ25pdG86Z3JvdXBzIjpbImFkbWluIl19"
       ".c2lnbmF0dXJlLWJ5dGVzLWhlcmU")


@pytest.mark.parametrize("text, secret", [
    ("contact alice@example.com now", "alice@example.com"),
    ("<Bob.Smith+tag@mail.example.co.uk>", "Bob.Smith+tag@mail.example.co.uk"),
    (f"token={JWT}", JWT),
    (f"Authorization: Bearer {JWT}", JWT),
    ("authorization: bearer abc.DEF-123_~+/xyz==", "abc.DEF-123_~+/xyz=="),
    ("BEARER opaque-token-value", "opaque-token-value"),
    ("Bazaar-Signature: t=1700000000,v1=" + "ab" * 32, "v1=" + "ab" * 32),
])
def test_patterns_in_free_text(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize("text, secret", [
    ('{"username": "bob", "password": "hunter2hunter2"}', "hunter2hunter2"),   # a JSON body logged as a string
    ('{"new_password":"with \\"quote\\" and space"}', "with"),
    ("cursor=abc&token=s3cr3t-t0k3n&limit=5", "s3cr3t-t0k3n"),                   # a query string
    ("client_secret=abc123; other=1", "abc123"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
    ("x-amz-security-token: IQoJb3JpZ2luX2VjE", "IQoJb3JpZ2luX2VjE"),
    ("PASSWORD = hunter2", "hunter2"),
])
def test_sensitive_names_in_free_text_lose_their_values(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


def test_ordinary_text_is_untouched() -> None:
    text = "product 01ABC updated to version 3 by seller-1 at 2026-11-28T10:00:00.000Z (price 12.50 EUR)"
    assert redact(text) == text


@pytest.mark.parametrize("key", ["authorization", "Authorization", "password", "new_password", "client_secret",
                                 "WEBHOOK_SECRET", "access_token", "refresh-token", "x-signature",
                                 "Bazaar-Signature", "cookie", "Set-Cookie", "email", "E-Mail", "email_verified"])
def test_sensitive_keys_are_redacted_whatever_the_value(key: str) -> None:
    assert redact({key: "harmless-looking", "keep": "me"}) == {key: REDACTED, "keep": "me"}


def test_nested_structures() -> None:
    event = {
        "headers": {"Authorization": f"Bearer {JWT}", "user-agent": "curl", "x-note": "from bob@example.com"},
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u1", "email": "bob@example.com"}}}},
        "body": json.dumps({"username": "bob", "password": "hunter2hunter2"}),
        "list": [{"password": "p4ss"}, (f"Bearer {JWT}", 5), None, 3.5],
        "deep": {"a": {"b": {"c": {"token": "t0k3n"}}}},
    }
    out = redact(event)
    text = json.dumps(out)
    for leaked in (JWT, "bob@example.com", "p4ss", "t0k3n", "hunter2hunter2"):
        assert leaked not in text
    assert out["headers"]["Authorization"] == REDACTED
    assert out["headers"]["user-agent"] == "curl"
    assert out["requestContext"]["authorizer"]["jwt"]["claims"] == {"sub": "u1", "email": REDACTED}
    assert out["list"][0] == {"password": REDACTED}
    assert out["list"][2:] == [None, 3.5]
    assert out["deep"]["a"]["b"]["c"] == {"token": REDACTED}
    assert event["headers"]["Authorization"] == f"Bearer {JWT}"  # the input is not modified


def test_non_string_keys_and_scalars() -> None:
    assert redact({1: "x", None: "alice@example.com"}) == {1: "x", None: REDACTED}
    assert redact(42) == 42 and redact(None) is None and redact(True) is True


def test_the_formatter_redacts_what_a_careless_log_call_writes() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log = logging.getLogger("test_redact_formatter")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.warning({"event": {"headers": {"authorization": f"Bearer {JWT}"}}, "email": "carol@example.com"})
        log.warning("login failed for dave@example.com with Bearer %s", JWT)
        try:
            raise ValueError(f"bad token {JWT} for erin@example.com")
        except ValueError:
            log.exception("boom")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert len(output.splitlines()) == 3
    for leaked in (JWT, "carol@example.com", "dave@example.com", "erin@example.com"):
        assert leaked not in output
    for line in output.splitlines():
        json.loads(line)  # still one JSON object per line
