"""Who hears about an order event, and what they are told. Recipients are user ids (token ``sub``); the address
is looked up at sending time and never travels in events or logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from bazaar.domain.order_events import ORDER_CANCELLED, ORDER_CONFIRMED

NOTIFIED_EVENTS = (ORDER_CONFIRMED, ORDER_CANCELLED)
_REASONS = {
    "payment_declined": "the payment was declined",
    "payment_failed": "the payment failed",
    "cancelled_by_customer": "you cancelled it",
    "cancelled_by_admin": "it was cancelled by our support team",
}


@dataclass(frozen=True)
class Notification:
    recipient_id: str
    role: str  # "customer" or "seller": one message per recipient and role per event
    subject: str
    text: str


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def _lines(items: list[Mapping[str, Any]], currency: str) -> str:
    return "\n".join(f"  {i['quantity']} x {i['name']} at {_money(int(i['unit_price_cents']), currency)}"
                     for i in items)


def for_event(event_type: str, data: Mapping[str, Any]) -> list[Notification]:
    """The messages an order event causes: the customer on confirmation and cancellation, and each seller with
    products in the order on confirmation (with only their own lines)."""
    if event_type not in NOTIFIED_EVENTS:
        return []
    order = data["order"]
    order_id, currency = order["order_id"], order["currency"]
    items = list(order["items"])
    if event_type == ORDER_CONFIRMED:
        out = [Notification(order["customer_id"], "customer", f"Your Bazaar order {order_id} is confirmed",
                            f"Thank you! Order {order_id} is confirmed.\n\n{_lines(items, currency)}\n\n"
                            f"Total: {_money(int(order['total_cents']), currency)}\n")]
        for seller in dict.fromkeys(i["seller_id"] for i in items):
            own = [i for i in items if i["seller_id"] == seller]
            out.append(Notification(seller, "seller", f"New Bazaar order {order_id} for your products",
                                    f"Order {order_id} includes your products:\n\n{_lines(own, currency)}\n"))
        return out
    why = _REASONS.get(str(order.get("cancel_reason") or data.get("reason")), "it was cancelled")
    refund = "\nAny payment will be refunded.\n" if data.get("refund_requested") else ""
    return [Notification(order["customer_id"], "customer", f"Your Bazaar order {order_id} was cancelled",
                         f"Order {order_id} was cancelled: {why}.\n{refund}")]
