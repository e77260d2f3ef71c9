"""Payment use cases: charge a new order, refund, and apply the provider's webhook.

Exactly-once money movement rests on three layers, each enough on its own for its part:
1. consumers and the webhook run each event id once (Powertools idempotency);
2. the provider is called with idempotency keys (order id for the charge, order id + "-refund" for the refund),
   so a repeated call moves no more money;
3. every status change is a write conditional on the order's current status (and the refund marker is set at
   most once), so a duplicate, late or reordered event changes nothing even if an idempotency record was lost.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping, Optional

from bazaar.domain import orders as domain
from bazaar.domain.clock import utc_now
from bazaar.domain.errors import NotFound
from bazaar.domain.ids import is_valid_id
from bazaar.domain.orders import REFUND_REQUESTED, OrderStatus, PaymentOutcome, Transition
from bazaar.domain.payments import (WEBHOOK_OUTCOMES, BadSignature, ChargeRequest, RefundRequest,
                                    SignatureMismatch, verify)
from bazaar.domain.ports import OrderRepository, PaymentProvider
from bazaar.services.orders import change


def describe(transition: Optional[Transition]) -> str:
    if transition is None:
        return "no_change"
    if not transition.changes_status:
        return "refund_requested"
    return transition.order.status.value.lower()


def charge_new_order(orders: OrderRepository, provider: PaymentProvider, order_id: str) -> dict[str, str]:
    """``OrderCreated``: charge the order (key = its id), then confirm it, cancel it, or leave it pending."""
    order = orders.get(order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")  # retried, then dead-lettered: it should exist
    if order.status is not OrderStatus.PENDING:
        return {"charge": "skipped", "status": order.status.value}  # decided before we got here: no money moves
    result = provider.charge(ChargeRequest.for_order(order))
    _, transition = change(orders, order_id, lambda o: domain.after_payment(o, result.outcome, utc_now()), order)
    return {"charge": result.outcome.value, "charge_id": result.charge_id, "effect": describe(transition)}


def refund(provider: PaymentProvider, event_type: str, data: Mapping[str, Any]) -> dict[str, str]:
    """``RefundRequested``: ask the provider for the money back (key = order id + "-refund": at most one refund)."""
    assert event_type == REFUND_REQUESTED, event_type
    result = provider.refund(RefundRequest(str(data["order_id"]), int(data["amount_cents"]), str(data["currency"]),
                                           str(data["idempotency_key"])))
    return {"refund_id": result.refund_id}


def apply_webhook(orders: OrderRepository, event_type: str, order_id: str) -> dict[str, str]:
    """A provider's webhook about an order: ``payment.succeeded`` confirms a pending order (or refunds a cancelled
    one), ``payment.failed`` cancels a pending one. Other event types are acknowledged and ignored."""
    outcome: Optional[PaymentOutcome] = WEBHOOK_OUTCOMES.get(event_type)
    if not is_valid_id(order_id):
        raise NotFound("no such order")
    if outcome is None:
        if orders.get(order_id) is None:
            raise NotFound("no such order")
        return {"order_id": order_id, "effect": "ignored"}
    order, transition = change(orders, order_id, lambda o: domain.after_payment(o, outcome, utc_now()))
    return {"order_id": order_id, "effect": describe(transition), "status": order.status.value}


class WebhookVerifier:
    """Checks webhook signatures against the secret cached in this container; on a mismatch it re-reads the
    secret once (a rotation: the provider signs with the new value before our cache expires) and checks again.
    Re-reads are spaced by ``refetch_interval_s`` so a flood of forged requests cannot turn into a flood of
    Secrets Manager calls."""

    def __init__(self, load_secret: Callable[[bool], bytes], clock: Callable[[], float] = time.time,
                 refetch_interval_s: float = 10.0) -> None:
        self._load = load_secret
        self._clock = clock
        self._interval = refetch_interval_s
        self._last_refetch = float("-inf")
        self._lock = threading.Lock()

    def verify(self, header: Optional[str], body: bytes) -> None:
        now = self._clock()
        try:
            verify(header, body, [self._load(False)], int(now))
            return
        except SignatureMismatch:
            with self._lock:
                if now - self._last_refetch < self._interval:
                    raise
                self._last_refetch = now
            verify(header, body, [self._load(True)], int(now))


__all__ = ["BadSignature", "WebhookVerifier", "apply_webhook", "charge_new_order", "refund"]
