"""The purchase path, measured on the local stack (part of ``make bench``; alone: ``python -m tests.bench.orders``).

- **Order -> CONFIRMED**: for each of N ``pm_card_ok`` orders, the time from the order's creation to its
  confirmation, taken from the order itself (``created_at`` to the ``updated_at`` of the CONFIRMED order, both
  written by the functions on this machine's clock): stream -> relay -> SNS -> SQS -> payments -> transaction.
- **Warm POST /orders**: the client's round trip through the gateway, N orders after a warm-up, placed at a steady
  rate (default 2 per second, open loop) so the event path runs beside them as it would in use.
- **DynamoDB requests per order creation**: the create_order handler run in this process against the stack's moto
  and Valkey, every DynamoDB API call counted at botocore's client layer (whichever client makes it: pynamodb's or
  the Powertools idempotency layer's); with the products cached (the common case: a shopper has just viewed them)
  and with a cold cache.
- **Baselines of the same run**, so figures read as ratios on a noisy machine: warm ``GET /health`` (gateway +
  Lambda runtime, no AWS call) after every order and warm ``POST /products`` (one transactional write with its
  outbox item) after every fourth, interleaved with the orders so all see the same background work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional

DEFAULT_ORDERS = 200
# Orders per second: a rate the local event path sustains on the 2-core dev machines (its single stream relay
# handles about 10 records a second there, two per order); at 5 per second a backlog builds and latency with it.
DEFAULT_RATE = 2.0
GOAL_P95_CONFIRMED_MS = 1000
GOAL_REQUESTS_PER_ORDER = 3


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": round(statistics.median(values), 2), "p95": round(_pct(values, 95), 2),
            "min": round(min(values), 2), "max": round(max(values), 2)}


def _ms(a: str, b: str) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(b) - parse(a)).total_seconds() * 1000


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = call()
    return (time.perf_counter() - t0) * 1000, result


def _refreshed(cache: Any, key: str, stock: int, timeout_s: float = 5.0) -> bool:
    """Wait until the cached entry shows ``stock``: the last order's refresh (invalidate_cache) has landed."""
    from bazaar.adapters.cache import decode_entry
    from bazaar.domain.ports import Cached

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        entry = cache.get(key)
        found = decode_entry(entry.decode()) if entry else None
        if isinstance(found, Cached) and found.product.stock == stock:
            return True
        time.sleep(0.02)
    return False


def _count_requests(info: dict[str, Any], customer_sub: str, product_ids: list[str], n: int,
                    evict: bool) -> dict[str, Any]:
    """create_order's handler in this process, with the function's environment, against the stack's services."""
    os.environ.update(AWS_ENDPOINT_URL=info["aws_endpoint_url"], AWS_ACCESS_KEY_ID="testing",
                      AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing", AWS_REGION=info["region"],
                      AWS_DEFAULT_REGION=info["region"], TABLE_NAME=info["table_name"], CACHE_URL=info["cache_url"],
                      AWS_LAMBDA_FUNCTION_NAME="bazaar-local-create-order", STAGE="local",
                      POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_SERVICE_NAME="bazaar",
                      POWERTOOLS_METRICS_NAMESPACE="Bazaar", POWERTOOLS_LOG_LEVEL="ERROR")
    import redis

    from bazaar import wiring
    from bazaar.adapters.cache import product_key
    from tests.support.aws import dynamodb_requests
    from tests.support.events import FakeContext, claims, http_event

    wiring.reset()
    from bazaar.observability import metrics

    # Earlier stages of `make bench` may have imported bazaar.observability before this environment was set.
    metrics.namespace, metrics.service = "Bazaar", "bazaar"
    from functions.create_order.handler import handler

    cache = redis.Redis.from_url(info["cache_url"])
    who = claims(customer_sub, "customer")
    body = {"items": [{"product_id": p, "quantity": 1} for p in product_ids], "payment_method": "pm_card_ok"}

    def one() -> dict[str, Any]:
        return handler(http_event("POST", "/orders", body=body, claims=who,
                                  headers={"Idempotency-Key": uuid.uuid4().hex}), FakeContext("create_order"))

    first = one()
    assert first["statusCode"] == 201, first  # warm: clients created, products cached
    per_order: list[int] = []
    operations: dict[str, int] = {}
    for _ in range(n):
        if evict:
            for p in product_ids:  # the previous order's refresh must not refill the entry after the eviction
                _refreshed(cache, product_key(p), wiring.products().get(p).stock)
            cache.delete(*(product_key(p) for p in product_ids))
        with dynamodb_requests() as calls:
            answer = one()
        assert answer["statusCode"] == 201, answer
        per_order.append(len(calls))
        for op in calls:
            operations[op] = operations.get(op, 0) + 1
    return {"orders": n, "lines": len(product_ids), "per_order_mean": round(statistics.mean(per_order), 2),
            "per_order_median": statistics.median(per_order), "per_order_min": min(per_order),
            "per_order_max": max(per_order),
            "by_operation": {k: round(v / n, 2) for k, v in sorted(operations.items())}}


def run(n: int = DEFAULT_ORDERS, stack_info: Optional[dict[str, Any]] = None,
        progress: Optional[Callable[[str], None]] = None, rate: float = DEFAULT_RATE,
        counted: int = 20) -> dict[str, Any]:
    """``n`` orders at ``rate`` per second; ``counted`` in-process orders per request-count case."""
    from tests.e2e.conftest import RunningStack, http, start_stack, stop_stack, tokens

    say = progress or (lambda msg: None)
    started = time.monotonic()
    own: Optional[RunningStack] = None
    if stack_info is None:
        say("orders: starting a local stack")
        own = start_stack(Path(tempfile.mkdtemp(prefix="bazaar-bench-")) / ".local")
        stack_info = own.info
    info = stack_info
    api = info["api_url"]
    try:
        first = {group: next(u for u in info["users"] if u["group"] == group)
                 for group in ("customer", "seller", "admin")}
        seller_token, customer, admin = (tokens(_Stack(info), first[g]["username"])["AccessToken"]
                                         for g in ("seller", "customer", "admin"))
        customer_user = first["customer"]

        def new_product() -> str:
            r = http("POST", f"{api}/products", {"name": "bench", "price_cents": 100, "currency": "EUR",
                                                 "stock": 1_000_000}, token=seller_token)
            assert r.status == 201, r.body
            return str(r.json()["product_id"])

        pid = new_product()
        http("GET", f"{api}/products/{pid}")  # cached, as after a shopper's product page

        def order() -> Any:
            return http("POST", f"{api}/orders", {"items": [{"product_id": pid, "quantity": 1}],
                                                  "payment_method": "pm_card_ok"},
                        token=customer, headers={"idempotency-key": uuid.uuid4().hex})

        say("orders: warm-up")
        for _ in range(3):
            assert order().status == 201
            http("GET", f"{api}/health")
            new_product()
        say(f"orders: {n} POST /orders at {rate:g} per second, each followed by the baselines' requests")
        health: list[float] = []
        products: list[float] = []
        posted: list[float] = []
        order_ids: list[str] = []
        begun = time.monotonic()
        for i in range(n):  # open loop at a steady rate: latency at a load the pipeline sustains, not a flood
            time.sleep(max(0.0, begun + i / rate - time.monotonic()))
            ms, result = _timed(order)
            assert result.status == 201, result.body
            posted.append(ms)
            order_ids.append(result.json()["order_id"])
            # the baselines run beside the orders, so all three see the same event-path work around them
            health.append(_timed(lambda: http("GET", f"{api}/health"))[0])
            if i % 4 == 0:
                products.append(_timed(new_product)[0])

        say("orders: waiting for every order to be CONFIRMED")
        confirmed: list[float] = []
        deadline = time.monotonic() + 120
        pending = list(order_ids)
        while pending and time.monotonic() < deadline:
            still = []
            for oid in pending:
                o = http("GET", f"{api}/orders/{oid}", token=admin).json()
                if o["status"] == "CONFIRMED":
                    confirmed.append(_ms(o["created_at"], o["updated_at"]))
                elif o["status"] == "PENDING":
                    still.append(oid)
                else:
                    raise AssertionError(f"order {oid} ended {o['status']}")
            pending = still
            if pending:
                time.sleep(0.2)
        if pending:
            raise AssertionError(f"{len(pending)} orders not CONFIRMED within 120 s")

        say("orders: DynamoDB requests per order creation (in process, counted at botocore)")
        two = [pid, new_product()]
        for p in two:
            http("GET", f"{api}/products/{p}")
        requests_cached = _count_requests(info, customer_user["sub"], [pid], counted, evict=False)
        requests_two_lines = _count_requests(info, customer_user["sub"], two, counted, evict=False)
        requests_cold = _count_requests(info, customer_user["sub"], [pid], counted, evict=True)
    finally:
        if own is not None:
            stop_stack(own)

    h, p, o, c = summary(health), summary(products), summary(posted), summary(confirmed)
    return {
        "orders": n, "rate_per_s": rate,
        "confirmed_ms": c, "post_orders_ms": o, "baseline_health_ms": h, "baseline_post_products_ms": p,
        "ratios": {"post_orders_vs_post_products": round(o["median"] / p["median"], 2),
                   "post_orders_vs_health": round(o["median"] / h["median"], 2),
                   "confirmed_p95_vs_post_products": round(c["p95"] / p["median"], 2)},
        "dynamodb_requests": {"cached_one_line": requests_cached, "cached_two_lines": requests_two_lines,
                              "cold_cache_one_line": requests_cold},
        "goals": {"confirmed_p95_under_ms": GOAL_P95_CONFIRMED_MS,
                  "confirmed_p95_met": c["p95"] < GOAL_P95_CONFIRMED_MS,
                  "requests_per_order_at_most": GOAL_REQUESTS_PER_ORDER,
                  # the typical order; an order racing the refresh of the product's cached entry (an earlier
                  # order's stock event) can miss the cache and read the product once more
                  "requests_met": requests_cached["per_order_median"] <= GOAL_REQUESTS_PER_ORDER},
        "elapsed_s": round(time.monotonic() - started, 1),
        "load_average": round(os.getloadavg()[0], 1),  # other work on this machine skews every figure
    }


class _Stack:
    """The little of ``RunningStack`` that ``tokens()`` reads."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info


def render(res: dict[str, Any]) -> str:
    c, o = res["confirmed_ms"], res["post_orders_ms"]
    h, p = res["baseline_health_ms"], res["baseline_post_products_ms"]
    r, d, g = res["ratios"], res["dynamodb_requests"], res["goals"]
    fmt = lambda s: f"median {s['median']:.1f} ms, p95 {s['p95']:.1f} ms (min {s['min']:.1f}, max {s['max']:.1f})"  # noqa
    lines = [
        f"Orders bench: {res['orders']} pm_card_ok orders on the local stack at {res['rate_per_s']:g}/s, "
        f"{res['elapsed_s']:.0f} s (load average {res['load_average']})",
        f"  order -> CONFIRMED        {fmt(c)}   goal p95 < {g['confirmed_p95_under_ms']} ms: "
        f"{'met' if g['confirmed_p95_met'] else 'NOT met'}",
        f"  warm POST /orders         {fmt(o)}",
        f"  baseline GET /health      {fmt(h)}",
        f"  baseline POST /products   {fmt(p)}",
        f"  ratios                    POST /orders = {r['post_orders_vs_post_products']}x POST /products = "
        f"{r['post_orders_vs_health']}x GET /health; CONFIRMED p95 = {r['confirmed_p95_vs_post_products']}x "
        f"POST /products",
    ]
    for key, label in (("cached_one_line", "products cached, 1 line"), ("cached_two_lines", "products cached, 2 lines"),
                       ("cold_cache_one_line", "cache cold, 1 line")):
        x = d[key]
        ops = ", ".join(f"{k} {v:g}" for k, v in x["by_operation"].items())
        lines.append(f"  DynamoDB requests/order   {label}: median {x['per_order_median']:g}, mean "
                     f"{x['per_order_mean']:g}, max {x['per_order_max']} ({ops})")
    lines.append(f"  goal <= {g['requests_per_order_at_most']} requests per order (cached, median): "
                 f"{'met' if g['requests_met'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.orders", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="orders per second (default 2)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    res = run(args.orders, progress=lambda m: print(m, file=sys.stderr, flush=True), rate=args.rate)
    print(render(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0 if res["goals"]["requests_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
