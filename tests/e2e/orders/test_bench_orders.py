"""The orders bench (tests/bench/orders.py) runs on a stack and reports every figure it promises. Structure and
counts only: timings are never asserted in tests."""

from __future__ import annotations

import pytest

from tests.bench import orders
from tests.e2e.orders.conftest import Shop

pytestmark = pytest.mark.e2e


def test_orders_bench_reports_every_figure(shop: Shop) -> None:
    res = orders.run(3, stack_info=shop.stack.info, rate=20, counted=2)
    for key in ("confirmed_ms", "post_orders_ms", "baseline_health_ms"):
        assert res[key]["n"] == 3 and res[key]["median"] > 0, key
    assert res["baseline_post_products_ms"]["n"] == 1  # after every fourth order
    requests = res["dynamodb_requests"]
    # counted, not timed: the idempotency put, the transaction, the idempotency update; the snapshot is the cache's
    # (an order that races the async refresh of a cached entry may read one product: GetItem, rarely)
    for case in ("cached_one_line", "cached_two_lines"):
        ops = requests[case]["by_operation"]
        assert (ops["PutItem"], ops["TransactWriteItems"], ops["UpdateItem"]) == (1, 1, 1), ops
        assert set(ops) <= {"PutItem", "TransactWriteItems", "UpdateItem", "GetItem"}, ops
        # at least one order paid exactly those 3; a racing one at most one GetItem per line more
        assert requests[case]["per_order_min"] == 3, requests[case]
        assert requests[case]["per_order_max"] <= 3 + requests[case]["lines"], requests[case]
    cold = requests["cold_cache_one_line"]  # a miss costs one read (the bench evicts after the last refresh landed)
    assert cold["per_order_max"] == 4 and cold["per_order_mean"] > 3 and cold["by_operation"]["GetItem"] > 0
    assert "order -> CONFIRMED" in orders.render(res)
