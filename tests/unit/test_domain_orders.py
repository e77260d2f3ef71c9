"""The order rules (bazaar.domain.orders): placing, visibility, and every status transition with its effects."""

from __future__ import annotations

import pytest

from bazaar.domain import orders
from bazaar.domain.errors import Forbidden, InvalidRequest, NotFound
from bazaar.domain.identity import Actor
from bazaar.domain.orders import (CancelReason, InvalidTransition, LineRequest, OrderStatus, PaymentMethod,
                                  PaymentOutcome, ProductSnapshot, StockRelease, UnknownProducts)

NOW, LATER = "2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z"
ALICE = Actor("alice", frozenset({"customer"}))
BOB = Actor("bob", frozenset({"customer"}))
ADMIN = Actor("erin", frozenset({"admin"}))
LAMP = ProductSnapshot("P1", "carol", "Lamp", 1250, "EUR", 3)
MUG = ProductSnapshot("P2", "dave", "Mug", 300, "EUR", 1)
TEA = ProductSnapshot("P3", "dave", "Tea", 500, "GBP", 1)
SNAPSHOTS = {p.product_id: p for p in (LAMP, MUG, TEA)}


def place(*lines: tuple[str, int], actor: Actor = ALICE, method: PaymentMethod = PaymentMethod.CARD_OK):
    return orders.place(actor, [LineRequest(p, q) for p, q in lines], method, SNAPSHOTS, NOW)


def test_place_snapshots_lines_totals_and_reserves_at_the_snapshot_version() -> None:
    order, reservations, event = place(("P1", 2), ("P2", 3))
    assert (order.status, order.customer_id, order.currency, order.created_at) == (OrderStatus.PENDING, "alice",
                                                                                  "EUR", NOW)
    assert [(i.product_id, i.seller_id, i.name, i.quantity, i.unit_price_cents) for i in order.items] == [
        ("P1", "carol", "Lamp", 2, 1250), ("P2", "dave", "Mug", 3, 300)]
    assert order.total_cents == 2 * 1250 + 3 * 300
    assert [(r.product_id, r.quantity, r.snapshot) for r in reservations] == [("P1", 2, LAMP), ("P2", 3, MUG)]
    assert reservations[0].matches("carol", "Lamp", 1250, "EUR")
    assert not reservations[0].matches("carol", "Lamp", 1300, "EUR")
    assert (event.type, event.aggregate_id, event.data) == ("OrderCreated", order.order_id, {"order": order.to_dict()})
    assert "cancel_reason" not in order.to_dict() and "refund_requested" not in order.to_dict()
    assert order.seller_ids == ("carol", "dave")


@pytest.mark.parametrize("lines, error", [
    ([], InvalidRequest), ([("P1", 1)] * 2, InvalidRequest), ([("P1", 0)], InvalidRequest),
    ([("P1", 101)], InvalidRequest), ([("P1", 1), ("P3", 1)], InvalidRequest), ([("nope", 1)], UnknownProducts),
])
def test_place_refuses_what_the_contract_forbids(lines, error) -> None:
    with pytest.raises(error):
        place(*lines)


def test_only_customers_place_orders() -> None:
    with pytest.raises(Forbidden):
        place(("P1", 1), actor=Actor("carol", frozenset({"seller"})))


def test_visible_to_its_customer_and_admins_only() -> None:
    order, _, _ = place(("P1", 1))
    orders.ensure_visible(order, ALICE)
    orders.ensure_visible(order, ADMIN)
    with pytest.raises(NotFound):
        orders.ensure_visible(order, BOB)


def test_confirm_only_from_pending() -> None:
    order, _, _ = place(("P1", 1))
    t = orders.confirm(order, LATER)
    assert (t.expected_status, t.order.status, t.order.updated_at, t.release) == (
        OrderStatus.PENDING, OrderStatus.CONFIRMED, LATER, ())
    assert [e.type for e in t.events] == ["OrderConfirmed"]
    with pytest.raises(InvalidTransition):
        orders.confirm(t.order, LATER)


def test_cancel_pending_releases_every_line_and_asks_no_refund() -> None:
    order, _, _ = place(("P1", 2), ("P2", 1))
    t = orders.cancel(order, CancelReason.BY_CUSTOMER, LATER)
    assert t.order.status is OrderStatus.CANCELLED and t.order.cancel_reason is CancelReason.BY_CUSTOMER
    assert t.release == (StockRelease("P1", 2), StockRelease("P2", 1))
    assert [e.type for e in t.events] == ["OrderCancelled"] and not t.marks_refund
    assert t.events[0].data["released"] == [{"product_id": "P1", "quantity": 2}, {"product_id": "P2", "quantity": 1}]
    assert t.order.to_dict()["cancel_reason"] == "cancelled_by_customer"


def test_cancel_confirmed_refunds_once_with_the_order_refund_key() -> None:
    order, _, _ = place(("P1", 2))
    confirmed = orders.confirm(order, LATER).order
    t = orders.cancel(confirmed, CancelReason.BY_ADMIN, LATER)
    assert t.expected_status is OrderStatus.CONFIRMED and t.marks_refund and t.order.refund_requested
    cancelled, refund = t.events
    assert cancelled.data["refund_requested"] is True
    assert refund.type == "RefundRequested" and refund.data == {
        "order_id": order.order_id, "customer_id": "alice", "amount_cents": 2500, "currency": "EUR",
        "idempotency_key": f"{order.order_id}-refund"}
    with pytest.raises(InvalidTransition):
        orders.cancel(t.order, CancelReason.BY_CUSTOMER, LATER)


def test_cancel_by_names_the_reason_from_who_cancels() -> None:
    order, _, _ = place(("P1", 1))
    assert orders.cancel_by(order, ALICE, LATER).order.cancel_reason is CancelReason.BY_CUSTOMER
    assert orders.cancel_by(order, ADMIN, LATER).order.cancel_reason is CancelReason.BY_ADMIN
    with pytest.raises(NotFound):
        orders.cancel_by(order, BOB, LATER)


@pytest.mark.parametrize("status, outcome, expected", [
    ("PENDING", PaymentOutcome.SUCCEEDED, ("CONFIRMED", None)),
    ("PENDING", PaymentOutcome.DECLINED, ("CANCELLED", "payment_declined")),
    ("PENDING", PaymentOutcome.FAILED, ("CANCELLED", "payment_failed")),
    ("PENDING", PaymentOutcome.PENDING, None),
    ("CONFIRMED", PaymentOutcome.SUCCEEDED, None),
    ("CONFIRMED", PaymentOutcome.FAILED, None),
    ("CANCELLED", PaymentOutcome.FAILED, None),
    ("CANCELLED", PaymentOutcome.SUCCEEDED, ("CANCELLED", "refund")),
])
def test_after_payment(status: str, outcome: PaymentOutcome, expected) -> None:
    order, _, _ = place(("P1", 1))
    if status == "CONFIRMED":
        order = orders.confirm(order, NOW).order
    elif status == "CANCELLED":
        order = orders.cancel(order, CancelReason.BY_CUSTOMER, NOW).order
    t = orders.after_payment(order, outcome, LATER)
    if expected is None:
        assert t is None
        return
    if expected[1] == "refund":  # money for a cancelled order: a refund request, no status change
        assert not t.changes_status and t.marks_refund and [e.type for e in t.events] == ["RefundRequested"]
        assert orders.after_payment(t.order, outcome, LATER) is None  # once
        return
    assert (t.order.status.value, t.order.cancel_reason.value if t.order.cancel_reason else None) == expected


def test_without_release_drops_deleted_products_from_the_effect_and_the_event() -> None:
    order, _, _ = place(("P1", 2), ("P2", 1))
    t = orders.cancel(order, CancelReason.BY_CUSTOMER, LATER).without_release(["P2"])
    assert t.release == (StockRelease("P1", 2),)
    assert t.events[0].data["released"] == [{"product_id": "P1", "quantity": 2}]


def test_the_products_whose_stock_an_order_event_moved() -> None:
    from bazaar.domain.order_events import ORDER_CANCELLED, ORDER_CREATED, stock_product_ids

    data = {"order": {"items": [{"product_id": "P1"}, {"product_id": "P2"}]}, "released": [{"product_id": "P2"}]}
    assert stock_product_ids(ORDER_CREATED, data) == ["P1", "P2"]  # reserved at creation
    assert stock_product_ids(ORDER_CANCELLED, data) == ["P2"]  # only what the cancel gave back
    assert stock_product_ids(ORDER_CANCELLED, {"order": {"items": [{"product_id": "P1"}]}}) == []


def test_the_manifest_subscribes_the_cache_backstop_to_every_event_that_moves_stock() -> None:
    from bazaar import manifest
    from bazaar.domain.order_events import STOCK_EVENTS

    assert manifest.STOCK_EVENTS == STOCK_EVENTS  # the manifest spells them out: it imports no domain code
    assert set(STOCK_EVENTS) <= set(manifest.get("invalidate_cache").source.event_types)
