"""Orders: what an order is, who may see or cancel it, and how its status moves (contract §3-§5).

Status flow: ``PENDING`` -> ``CONFIRMED`` (payment succeeded) or ``CANCELLED`` (declined/failed payment, or a
cancel by its customer or an admin); ``CONFIRMED`` -> ``CANCELLED`` (a cancel, which asks for a refund).
``CANCELLED`` is final. Every move is a ``Transition``: the new order, the status it must still have when the
move is written (so a duplicate, late or reordered event finds the order moved on and changes nothing), the stock
it gives back and the events it emits. The repository writes all of it in one transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import Enum
from typing import Any, Mapping, Optional, Sequence

from bazaar.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from bazaar.domain.events import DomainEvent
from bazaar.domain.identity import Actor
from bazaar.domain.ids import new_id
# The event names are the orders' (re-exported here); they live apart so that readers of events need not import this.
from bazaar.domain.order_events import (ORDER_CANCELLED, ORDER_CONFIRMED, ORDER_CREATED, ORDER_EVENTS,  # noqa: F401
                                        REFUND_REQUESTED, STOCK_EVENTS)

MAX_LINES = 50
MAX_QUANTITY = 100


class OrderStatus(str, Enum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class CancelReason(str, Enum):
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_FAILED = "payment_failed"
    BY_CUSTOMER = "cancelled_by_customer"
    BY_ADMIN = "cancelled_by_admin"


class PaymentMethod(str, Enum):
    CARD_OK = "pm_card_ok"
    CARD_DECLINED = "pm_card_declined"
    ASYNC = "pm_async"


@dataclass(frozen=True)
class ProductSnapshot:
    """What an order line keeps of a product, and the catalog version it was taken from."""

    product_id: str
    seller_id: str
    name: str
    price_cents: int
    currency: str
    version: int


@dataclass(frozen=True)
class LineRequest:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    seller_id: str
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Reservation:
    """Take ``quantity`` units of a product, provided it still has them and still has the seller, name, price and
    currency the line was snapshotted with (edits of anything else, e.g. the description, do not matter)."""

    product_id: str
    quantity: int
    snapshot: ProductSnapshot

    def matches(self, seller_id: str, name: str, price_cents: int, currency: str) -> bool:
        s = self.snapshot
        return (s.seller_id, s.name, s.price_cents, s.currency) == (seller_id, name, price_cents, currency)


@dataclass(frozen=True)
class StockRelease:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    status: OrderStatus
    items: tuple[OrderLine, ...]
    total_cents: int
    currency: str
    payment_method: PaymentMethod
    created_at: str
    updated_at: str
    cancel_reason: Optional[CancelReason] = None
    # Internal: a refund has been asked of the payment provider (set at most once, by a conditional write).
    refund_requested: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The order as clients see it (contract §3); ``cancel_reason`` only once cancelled."""
        out: dict[str, Any] = {
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "status": self.status.value,
            "items": [asdict(line) for line in self.items],
            "total_cents": self.total_cents,
            "currency": self.currency,
            "payment_method": self.payment_method.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.cancel_reason is not None:
            out["cancel_reason"] = self.cancel_reason.value
        return out

    @property
    def seller_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(line.seller_id for line in self.items))

    @property
    def refund_key(self) -> str:
        """The payment provider's idempotency key of this order's refund: at most one refund, ever."""
        return f"{self.order_id}-refund"


@dataclass(frozen=True)
class Shortage:
    product_id: str
    requested: int
    available: int


class StockShortage(Conflict):
    """Some lines cannot be reserved: nothing was reserved (409, naming the lines)."""

    def __init__(self, shortages: Sequence[Shortage]) -> None:
        self.shortages = tuple(shortages)
        names = ", ".join(f"{s.product_id} (requested {s.requested}, available {s.available})"
                          for s in self.shortages)
        super().__init__(f"not enough stock for: {names}")
        # Problem extension member: the short lines, machine-readable.
        self.extensions = {"lines": [asdict(s) for s in self.shortages]}


class UnknownProducts(InvalidRequest):
    def __init__(self, product_ids: Sequence[str]) -> None:
        self.product_ids = tuple(product_ids)
        super().__init__(f"no such product: {', '.join(self.product_ids)}")


class InvalidTransition(Conflict):
    """The order's status does not allow this move (e.g. cancelling a cancelled order): 409."""


# --- placing an order ---------------------------------------------------------------------------------------------

def place(actor: Actor, lines: Sequence[LineRequest], payment_method: PaymentMethod,
          snapshots: Mapping[str, ProductSnapshot], now: str,
          order_id: Optional[str] = None) -> tuple[Order, tuple[Reservation, ...], DomainEvent]:
    """A new PENDING order, the stock reservations that must succeed with it, and its ``OrderCreated`` event.

    ``snapshots`` holds what the caller knows of each product; a product missing from it does not exist (422)."""
    if "customer" not in actor.groups:
        raise Forbidden("only customers can place orders")
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidRequest(f"an order has 1 to {MAX_LINES} lines")
    ids = [line.product_id for line in lines]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("each product may appear in one line only")
    for line in lines:
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidRequest(f"quantity must be 1 to {MAX_QUANTITY}")
    missing = [pid for pid in ids if pid not in snapshots]
    if missing:
        raise UnknownProducts(missing)
    currencies = {snapshots[pid].currency for pid in ids}
    if len(currencies) != 1:
        raise InvalidRequest(f"all lines of an order must share one currency, got {', '.join(sorted(currencies))}")
    items = tuple(OrderLine(product_id=line.product_id, seller_id=snapshots[line.product_id].seller_id,
                            name=snapshots[line.product_id].name, quantity=line.quantity,
                            unit_price_cents=snapshots[line.product_id].price_cents) for line in lines)
    order = Order(order_id=order_id or new_id(), customer_id=actor.sub, status=OrderStatus.PENDING, items=items,
                  total_cents=sum(i.total_cents for i in items), currency=currencies.pop(),
                  payment_method=payment_method, created_at=now, updated_at=now)
    reservations = tuple(Reservation(line.product_id, line.quantity, snapshots[line.product_id]) for line in lines)
    return order, reservations, DomainEvent(ORDER_CREATED, order.order_id, {"order": order.to_dict()})


# --- who may see and cancel ---------------------------------------------------------------------------------------

def ensure_visible(order: Order, actor: Actor) -> None:
    """The customer who placed it or an admin; to anyone else the order does not exist (404, not 403: its id
    must not be confirmable by guessing)."""
    if actor.is_admin or actor.sub == order.customer_id:
        return
    raise NotFound("no such order")


# --- transitions --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    order: Order  # the order after the move
    expected_status: OrderStatus  # the move applies only while the stored order still has this status
    release: tuple[StockRelease, ...] = ()
    events: tuple[DomainEvent, ...] = ()
    marks_refund: bool = False  # sets the once-only refund marker (condition: not set yet)
    changes_status: bool = True

    def without_release(self, product_ids: Sequence[str]) -> "Transition":
        """The same move, giving nothing back to products that no longer exist (deleted since the order)."""
        gone = set(product_ids)
        kept = tuple(r for r in self.release if r.product_id not in gone)
        events = tuple(_with_released(e, kept) if e.type == ORDER_CANCELLED else e for e in self.events)
        return replace(self, release=kept, events=events)


def _released(release: Sequence[StockRelease]) -> list[dict[str, Any]]:
    return [{"product_id": r.product_id, "quantity": r.quantity} for r in release]


def _with_released(event: DomainEvent, release: Sequence[StockRelease]) -> DomainEvent:
    return replace(event, data={**event.data, "released": _released(release)})


def _refund_event(order: Order) -> DomainEvent:
    return DomainEvent(REFUND_REQUESTED, order.order_id, {
        "order_id": order.order_id, "customer_id": order.customer_id, "amount_cents": order.total_cents,
        "currency": order.currency, "idempotency_key": order.refund_key})


def confirm(order: Order, now: str) -> Transition:
    if order.status is not OrderStatus.PENDING:
        raise InvalidTransition(f"a {order.status.value} order cannot be confirmed")
    confirmed = replace(order, status=OrderStatus.CONFIRMED, updated_at=now)
    return Transition(confirmed, OrderStatus.PENDING,
                      events=(DomainEvent(ORDER_CONFIRMED, order.order_id, {"order": confirmed.to_dict()}),))


def cancel(order: Order, reason: CancelReason, now: str) -> Transition:
    """PENDING or CONFIRMED -> CANCELLED: every line's stock goes back; a confirmed (paid) order is refunded."""
    if order.status is OrderStatus.CANCELLED:
        raise InvalidTransition("the order is already cancelled")
    paid = order.status is OrderStatus.CONFIRMED
    cancelled = replace(order, status=OrderStatus.CANCELLED, cancel_reason=reason, updated_at=now,
                        refund_requested=order.refund_requested or paid)
    release = tuple(StockRelease(line.product_id, line.quantity) for line in order.items)
    events = [DomainEvent(ORDER_CANCELLED, order.order_id, {
        "order": cancelled.to_dict(), "reason": reason.value, "released": _released(release),
        "refund_requested": paid})]
    if paid:
        events.append(_refund_event(cancelled))
    return Transition(cancelled, order.status, release=release, events=tuple(events), marks_refund=paid)


def cancel_by(order: Order, actor: Actor, now: str) -> Transition:
    """A cancel through the API: its customer (``cancelled_by_customer``) or an admin (``cancelled_by_admin``)."""
    ensure_visible(order, actor)
    reason = CancelReason.BY_CUSTOMER if actor.sub == order.customer_id else CancelReason.BY_ADMIN
    return cancel(order, reason, now)


def refund_late_payment(order: Order, now: str) -> Optional[Transition]:
    """Money arrived for an order that was cancelled meanwhile: ask for it back, once. No status change."""
    if order.status is not OrderStatus.CANCELLED or order.refund_requested:
        return None
    marked = replace(order, refund_requested=True)
    return Transition(marked, OrderStatus.CANCELLED, events=(_refund_event(marked),), marks_refund=True,
                      changes_status=False)


# --- what a payment outcome does to an order ----------------------------------------------------------------------

class PaymentOutcome(str, Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the provider reports a failure (webhook)
    DECLINED = "declined"  # the charge was refused at once
    PENDING = "pending"  # decided later, by a webhook


_CANCEL_REASON = {PaymentOutcome.FAILED: CancelReason.PAYMENT_FAILED,
                  PaymentOutcome.DECLINED: CancelReason.PAYMENT_DECLINED}


def after_payment(order: Order, outcome: PaymentOutcome, now: str) -> Optional[Transition]:
    """The move a payment outcome causes, or None when it changes nothing (a duplicate or late report).

    - succeeded: PENDING -> CONFIRMED; for an order cancelled meanwhile, the money is refunded (never kept);
    - failed / declined: PENDING -> CANCELLED with its reason, stock released; no effect on a decided order;
    - pending: nothing yet."""
    if outcome is PaymentOutcome.SUCCEEDED:
        if order.status is OrderStatus.PENDING:
            return confirm(order, now)
        return refund_late_payment(order, now)
    if outcome in _CANCEL_REASON and order.status is OrderStatus.PENDING:
        return cancel(order, _CANCEL_REASON[outcome], now)
    return None
