"""The order repository on the single table. Placing an order and every status change are one transaction each,
with the stock they take or give back and their outbox events (docs/orders.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional, Sequence

from bazaar import settings
from bazaar.adapters.dynamo import transactions
from bazaar.adapters.dynamo.models import (OrderItem, OrderLineMap, ProductItem, bind, connection, order_keys,
                                           product_keys)
from bazaar.adapters.dynamo.outbox import outbox_item
from bazaar.adapters.dynamo.products import position_after, to_product, valid_position
from bazaar.domain.clock import utc_now
from bazaar.domain.events import DomainEvent
from bazaar.domain.orders import (CancelReason, Order, OrderLine, OrderStatus, PaymentMethod, Reservation,
                                  Transition)
from bazaar.domain.ports import (InvalidPosition, OrderPage, ProductsGone, ReservationFailed, StaleOrder)


def customer_partition(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}#ORDERS"


def to_item(order: Order) -> OrderItem:
    pk, sk = order_keys(order.order_id)
    return OrderItem(
        pk, sk,
        GSI2PK=customer_partition(order.customer_id), GSI2SK=f"{order.created_at}#{order.order_id}",
        order_id=order.order_id, customer_id=order.customer_id, status=order.status.value,
        items=[OrderLineMap(**asdict(line)) for line in order.items], total_cents=order.total_cents,
        currency=order.currency, payment_method=order.payment_method.value, created_at=order.created_at,
        updated_at=order.updated_at, cancel_reason=order.cancel_reason.value if order.cancel_reason else None,
    )


def to_order(item: OrderItem) -> Order:
    return Order(
        order_id=item.order_id, customer_id=item.customer_id, status=OrderStatus(item.status),
        items=tuple(OrderLine(product_id=line.product_id, seller_id=line.seller_id, name=line.name,
                              quantity=int(line.quantity), unit_price_cents=int(line.unit_price_cents))
                    for line in item.items),
        total_cents=int(item.total_cents), currency=item.currency, payment_method=PaymentMethod(item.payment_method),
        created_at=item.created_at, updated_at=item.updated_at,
        cancel_reason=CancelReason(item.cancel_reason) if item.cancel_reason else None,
        refund_requested=item.refund_requested_at is not None,
    )


class DynamoOrderRepository:
    def __init__(self, table_name: Optional[str] = None) -> None:
        bind(table_name)
        self._connection = connection(settings.region())  # the container's one client

    def get(self, order_id: str) -> Optional[Order]:
        pk, sk = order_keys(order_id)
        try:
            return to_order(OrderItem.get(pk, sk, consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def place(self, order: Order, reservations: Sequence[Reservation], event: DomainEvent) -> None:
        ops = [transactions.put(to_item(order), "order", OrderItem.PK.does_not_exist()),
               transactions.put(outbox_item(event), "outbox")]
        for r in reservations:
            pk, sk = product_keys(r.product_id)
            # stock >= quantity: never below zero. The snapshot's fields: the line says what the product is now
            # (snapshotted typically from the cache: no extra read on the common path, and proven here).
            s = r.snapshot
            ops.append(transactions.update(
                ProductItem(pk, sk), [ProductItem.stock.set(ProductItem.stock - r.quantity)], ("product", r),
                (ProductItem.stock >= r.quantity) & (ProductItem.seller_id == s.seller_id)
                & (ProductItem.name == s.name) & (ProductItem.price_cents == s.price_cents)
                & (ProductItem.currency == s.currency), return_old=True))
        try:
            transactions.run(self._connection, ops)
        except transactions.ConditionFailed as exc:
            short: dict[str, int] = {}
            outdated = {}
            gone = []
            for tag, raw in exc.failures.items():
                if not (isinstance(tag, tuple) and tag[0] == "product"):
                    raise  # the order id exists already: ids are unique, so this is a bug, not a client error
                r: Reservation = tag[1]
                if not raw:
                    gone.append(r.product_id)
                    continue
                product = to_product(ProductItem.from_raw_data(raw))
                if not r.matches(product.seller_id, product.name, product.price_cents, product.currency):
                    outdated[r.product_id] = product
                else:
                    short[r.product_id] = product.stock
            raise ReservationFailed(short, outdated, gone) from exc

    def apply(self, transition: Transition) -> None:
        order = transition.order
        pk, sk = order_keys(order.order_id)
        condition = OrderItem.status == transition.expected_status.value
        actions = []
        if transition.changes_status:
            actions += [OrderItem.status.set(order.status.value), OrderItem.updated_at.set(order.updated_at)]
            if order.cancel_reason is not None:
                actions.append(OrderItem.cancel_reason.set(order.cancel_reason.value))
        if transition.marks_refund:
            actions.append(OrderItem.refund_requested_at.set(utc_now()))
            condition &= OrderItem.refund_requested_at.does_not_exist()  # one refund request per order, ever
        ops = [transactions.update(OrderItem(pk, sk), actions, "order", condition)]
        for release in transition.release:
            ppk, psk = product_keys(release.product_id)
            ops.append(transactions.update(ProductItem(ppk, psk),
                                           [ProductItem.stock.set(ProductItem.stock + release.quantity)],
                                           ("product", release.product_id), ProductItem.PK.exists()))
        ops += [transactions.put(outbox_item(e), ("outbox", e.event_id)) for e in transition.events]
        try:
            transactions.run(self._connection, ops)
        except transactions.ConditionFailed as exc:
            if "order" in exc.failures:
                raise StaleOrder(order.order_id) from exc
            raise ProductsGone([tag[1] for tag in exc.failures]) from exc

    def list_for_customer(self, customer_id: str, limit: int, start: Optional[dict[str, Any]]) -> OrderPage:
        # Customers' orders live on GSI2 like sellers' products: the same position shape and checks.
        if start is not None and not valid_position(start, by_seller=True):
            raise InvalidPosition("not a position in this listing")
        items = list(OrderItem.by_customer.query(customer_partition(customer_id), scan_index_forward=False,
                                                 limit=limit + 1, page_size=limit + 1, last_evaluated_key=start))
        more = len(items) > limit
        items = items[:limit]
        position = position_after(items[-1], by_seller=True) if more and items else None
        return OrderPage([to_order(i) for i in items], position)
