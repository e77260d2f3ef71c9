"""Order use cases: place an order (snapshot + atomic reservation), read and list them, and change their status.

Placing reads each product through the catalog cache (no DynamoDB read on a hit) and lets the reservation's
condition prove the snapshot current: the transaction takes the stock only while the product still has the
seller, name, price and currency the line was built with. On a mismatch the transaction's answer carries the
product as it is now, which becomes the new snapshot (still no extra read). See docs/orders.md.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, Sequence

from bazaar.backoff import full_jitter
from bazaar.domain import orders as domain
from bazaar.domain.catalog import Product
from bazaar.domain.clock import utc_now
from bazaar.domain.errors import Conflict, Forbidden, NotFound
from bazaar.domain.identity import Actor
from bazaar.domain.ids import is_valid_id, new_id
from bazaar.domain.orders import (LineRequest, Order, PaymentMethod, ProductSnapshot, Shortage, StockShortage,
                                  Transition, UnknownProducts)
from bazaar.domain.ports import (OrderPage, OrderRepository, ProductCache, ProductRepository, ProductsGone,
                                 ReservationFailed, StaleOrder)
from bazaar.services import catalog

SNAPSHOT_ATTEMPTS = 10  # each failed attempt refreshes the outdated snapshots from the transaction's answer
SNAPSHOT_BUDGET_S = 4.0  # and they stop after this long: an answer (409) well inside the function's timeout
TRANSITION_ATTEMPTS = 5

Decide = Callable[[Order], Optional[Transition]]


def snapshot_of(product: Product) -> ProductSnapshot:
    return ProductSnapshot(product.product_id, product.seller_id, product.name, product.price_cents,
                           product.currency, product.version)


def _snapshots(products: ProductRepository, cache: ProductCache,
               product_ids: Sequence[str]) -> dict[str, ProductSnapshot]:
    found = {}
    for pid in product_ids:
        try:
            product, _ = catalog.get_product(products, cache, pid)
        except NotFound:
            continue
        found[pid] = snapshot_of(product)
    return found


def place_order(orders: OrderRepository, products: ProductRepository, cache: ProductCache, actor: Actor,
                lines: Sequence[LineRequest], payment_method: PaymentMethod) -> Order:
    if "customer" not in actor.groups:
        raise Forbidden("only customers can place orders")
    snapshots = _snapshots(products, cache, [line.product_id for line in lines])
    order_id, now = new_id(), utc_now()
    deadline = time.monotonic() + SNAPSHOT_BUDGET_S
    for attempt in range(SNAPSHOT_ATTEMPTS):
        order, reservations, event = domain.place(actor, lines, payment_method, snapshots, now, order_id=order_id)
        try:
            orders.place(order, reservations, event)
            return order
        except ReservationFailed as failed:
            if failed.gone:
                raise UnknownProducts(failed.gone) from None
            if failed.outdated:  # edited since the snapshot: take the product as the transaction saw it, retry
                snapshots.update({pid: snapshot_of(p) for pid, p in failed.outdated.items()})
                pause = full_jitter(attempt, 0.02, 0.25)  # a seller editing in a burst: let it pass
                if time.monotonic() + pause > deadline:
                    break
                time.sleep(pause)
                continue
            wanted = {line.product_id: line.quantity for line in lines}
            raise StockShortage([Shortage(pid, wanted[pid], available) for pid, available in failed.short.items()]) \
                from None
    raise Conflict("the products of this order are being edited right now; retry")


def get_order(orders: OrderRepository, actor: Actor, order_id: str) -> Order:
    order = orders.get(order_id) if is_valid_id(order_id) else None
    if order is None:
        raise NotFound("no such order")
    domain.ensure_visible(order, actor)
    return order


def list_orders(orders: OrderRepository, actor: Actor, limit: int, start: Optional[dict[str, Any]]) -> OrderPage:
    return orders.list_for_customer(actor.sub, limit, start)


def change(orders: OrderRepository, order_id: str, decide: Decide,
           known: Optional[Order] = None) -> tuple[Order, Optional[Transition]]:
    """Read the order (or start from ``known``, just read by the caller), let ``decide`` pick the move (or none),
    write it conditionally; on a lost race read again and decide again. Returns the order as it now is and the
    transition written (None: nothing changed)."""
    for attempt in range(TRANSITION_ATTEMPTS):
        if attempt == 0 and known is not None:
            order: Optional[Order] = known
        else:
            order = orders.get(order_id) if is_valid_id(order_id) else None
        if order is None:
            raise NotFound("no such order")
        transition = decide(order)
        if transition is None:
            return order, None
        while True:
            try:
                orders.apply(transition)
                return transition.order, transition
            except ProductsGone as gone:  # deleted since the order: nothing to give back to them
                if not gone.product_ids:
                    raise
                transition = transition.without_release(gone.product_ids)
            except StaleOrder:
                break
    raise Conflict("the order is being changed concurrently; retry")


def cancel_order(orders: OrderRepository, actor: Actor, order_id: str) -> Order:
    if not is_valid_id(order_id):
        raise NotFound("no such order")
    order, _ = change(orders, order_id, lambda o: domain.cancel_by(o, actor, utc_now()))
    return order
