"""Payments as the domain sees them: what is asked of a provider, what it answers, and how a provider's webhook
proves it is genuine (contract §5). No provider SDK here: adapters implement ``PaymentProvider``."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Optional, Sequence

from bazaar.domain.orders import Order, PaymentMethod, PaymentOutcome

SIGNATURE_TOLERANCE_S = 300
WEBHOOK_SUCCEEDED = "payment.succeeded"
WEBHOOK_FAILED = "payment.failed"
WEBHOOK_OUTCOMES = {WEBHOOK_SUCCEEDED: PaymentOutcome.SUCCEEDED, WEBHOOK_FAILED: PaymentOutcome.FAILED}
MAX_SIGNATURE_HEADER = 1024


@dataclass(frozen=True)
class ChargeRequest:
    order_id: str
    amount_cents: int
    currency: str
    method: PaymentMethod
    idempotency_key: str  # the order id: a provider never charges one key twice

    @classmethod
    def for_order(cls, order: Order) -> "ChargeRequest":
        return cls(order.order_id, order.total_cents, order.currency, order.payment_method, order.order_id)


@dataclass(frozen=True)
class ChargeResult:
    charge_id: str
    outcome: PaymentOutcome  # SUCCEEDED, DECLINED or PENDING


@dataclass(frozen=True)
class RefundRequest:
    order_id: str
    amount_cents: int
    currency: str
    idempotency_key: str  # order id + "-refund": one refund per order, ever


@dataclass(frozen=True)
class RefundResult:
    refund_id: str


class BadSignature(Exception):
    """The webhook is not provably from the provider (401). The message never quotes the header."""


class SignatureMismatch(BadSignature):
    """Well-formed and timely, but signed with another secret: a rotated secret would explain it."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1`` of contract §5: hex HMAC-SHA256 of ``"<t>.<raw body>"`` with the webhook secret."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse_signature_header(header: Optional[str]) -> tuple[int, list[str]]:
    """``t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` -> (t, [v1...]). Several v1 values let a provider sign with an
    old and a new secret while they rotate; unknown schemes are ignored."""
    if not header or len(header) > MAX_SIGNATURE_HEADER:
        raise BadSignature("missing or oversized signature header")
    timestamp: Optional[int] = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise BadSignature("malformed signature header")
        if key == "t":
            if not value.isdigit() or len(value) > 12 or timestamp is not None:
                raise BadSignature("malformed signature timestamp")
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise BadSignature("signature header lacks t or v1")
    return timestamp, candidates


def verify(header: Optional[str], body: bytes, secrets: Sequence[bytes], now: int,
           tolerance_s: int = SIGNATURE_TOLERANCE_S) -> None:
    """Raise ``BadSignature`` unless one ``v1`` matches one secret (constant-time comparison) and ``t`` is within
    ``tolerance_s`` of ``now`` (a captured request cannot be replayed later)."""
    timestamp, candidates = parse_signature_header(header)
    if abs(now - timestamp) > tolerance_s:
        raise BadSignature("signature timestamp outside the tolerance")
    for secret in secrets:
        expected = signature(secret, timestamp, body)
        # Compare against every candidate without stopping early: timing reveals nothing about which matched.
        matched = [hmac.compare_digest(expected, c) for c in candidates]
        if any(matched):
            return
    raise SignatureMismatch("signature does not match")
