"""The event path survives an SNS outage: orders placed while publishing fails are all relayed afterwards."""

from __future__ import annotations

import time

import pytest

from tests.e2e.orders.conftest import Shop

pytestmark = pytest.mark.e2e

OUTAGE_S = 30
ORDERS = 6


def test_orders_placed_during_a_30_s_sns_outage_lose_no_event(shop: Shop) -> None:
    pid = shop.new_product(stock=100)["product_id"]
    shop.quiet()
    placed = []
    with shop.faults(sns_outage=True):
        started = time.monotonic()
        for i in range(ORDERS):  # spread over the outage
            result = shop.place([(pid, 1)], customer=i % 2)
            assert result.status == 201, result.body  # placing an order does not need SNS
            placed.append(result.json()["order_id"])
            time.sleep(max(0.0, started + (i + 1) * OUTAGE_S / ORDERS - time.monotonic()))
        failures = shop.fault_counts().get("sns_publish_failures", 0)
        assert failures > 0, "the outage never hit the relay"
        assert all(shop.order(o).json()["status"] == "PENDING" for o in placed)  # nothing got through
    # after recovery: every OrderCreated reaches the payments consumer (CONFIRMED), every OrderConfirmed the
    # notifier (its e-mails), and nothing waits in any DLQ
    for order_id in placed:
        shop.wait_status(order_id, "CONFIRMED", timeout_s=60)
    shop.quiet(timeout_s=60)
    lost = [o for o in placed if len(shop.mail(o)) != 2]
    dlqs = {name: shop.dlq_depth(name) for name in shop.stack.info["dlqs"]}
    print(f"\noutage: {OUTAGE_S} s, {ORDERS} orders, {failures} publish attempts failed, events lost: {len(lost)}, "
          f"DLQ depths after: {dlqs}")
    assert lost == []
    assert shop.stock(pid) == 100 - ORDERS
    assert set(dlqs.values()) == {0}
