"""The orders bench (tests/bench/orders.py) runs on a stack and reports every figure it promises. Structure and
counts only: timings are never asserted in tests."""

from __future__ import annotations

import pytest

from tests.bench import orders
from tests.e2e.orders.conftest import Shop

pytestmark = pytest.mark.e2e


def test_orders_bench_reports_every_figure(shop: Shop) -> None:
    res = orders.run(5, stack_info=shop.stack.info, rate=20)
    for key in ("confirmed_ms", "post_orders_ms", "baseline_health_ms", "baseline_post_products_ms"):
        assert res[key]["n"] >= 5 and res[key]["median"] > 0, key
    requests = res["dynamodb_requests"]
    # counted, not timed: the idempotency put, the transaction, the idempotency update; the snapshot is the cache's
    assert requests["cached_one_line"]["by_operation"] == {"PutItem": 1, "TransactWriteItems": 1, "UpdateItem": 1}
    assert requests["cached_two_lines"]["per_order_max"] == 3
    cold = requests["cold_cache_one_line"]  # a miss costs one read (unless the last order's refresh refilled it)
    assert cold["per_order_max"] == 4 and cold["per_order_mean"] > 3 and cold["by_operation"]["GetItem"] > 0
    assert "order -> CONFIRMED" in orders.render(res)
