"""``make scaling``: does a write cost the same in a big table as in a small one, and what does a write cost in memory?

One local stack, started as ``make run`` starts it; four writers (two per seller) on keep-alive connections:

1. grow the catalog to 100 products, then every writer PATCHes random products of its own: the PATCH median at
   100 products;
2. grow the catalog to 1,500 products (creates are writes too), then the same PATCHes: the median at 1,500;
3. the stack's total resident memory (every process it started) before step 2 and after it, once the event path
   has caught up: growth per 1,000 writes;
4. 30 s without requests: growth while idle.

Prints the figures (latency as a ratio within the run: the machine is shared and noisy) and exits 0; a goal
missed is printed, not failed (the tests hold the lines, this measures). ``--products``/``--patches`` change the
sizes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

from tests.e2e.conftest import RunningStack, start_stack, stop_stack, tokens
from tests.load.processes import rss_by_role, total_rss_mib

WRITERS_PER_SELLER = 2
PATCH_GOAL_RATIO = 1.5
MEMORY_GOAL_MIB_PER_1K_WRITES = 150


class Writer:
    """One seller's client: a keep-alive connection, its own products."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.split("//", 1)[1].split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self._headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.products: list[str] = []
        self.errors = 0

    def _call(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        t0 = time.perf_counter()
        self._conn.request(method, path, json.dumps(body), self._headers)
        response = self._conn.getresponse()
        data = response.read()
        ms = (time.perf_counter() - t0) * 1000
        if response.status >= 300:
            self.errors += 1
        return response.status, (json.loads(data) if data else {}), ms

    def create(self) -> None:
        status, body, _ = self._call("POST", "/products", {"name": f"load {random.random():.6f}",
                                                           "price_cents": random.randint(100, 99_999),
                                                           "currency": "EUR", "stock": 100})
        if status == 201:
            self.products.append(body["product_id"])

    def patch(self) -> Optional[float]:
        status, _, ms = self._call("PATCH", f"/products/{random.choice(self.products)}",
                                   {"price_cents": random.randint(100, 99_999)})
        return ms if status == 200 else None


def _parallel(writers: list[Writer], work: Any) -> list[Any]:
    results: list[list[Any]] = [[] for _ in writers]
    threads = [threading.Thread(target=lambda i=i, w=w: results[i].extend(work(w))) for i, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for rs in results for r in rs]


def grow(writers: list[Writer], total: int, existing: int) -> int:
    """Create products (spread over the writers) until the catalog holds ``total``; returns the creates done."""
    todo = max(0, total - existing)
    share = [todo // len(writers) + (1 if i < todo % len(writers) else 0) for i in range(len(writers))]
    _parallel(writers, lambda w: [w.create() for _ in range(share[writers.index(w)])])
    return todo


def patches(writers: list[Writer], per_writer: int) -> list[float]:
    return [ms for ms in _parallel(writers, lambda w: [w.patch() for _ in range(per_writer)]) if ms is not None]


def moto_stats(stack: RunningStack) -> dict[str, Any]:
    with urllib.request.urlopen(stack.info["aws_endpoint_url"] + "/_bazaar/stats", timeout=10) as response:
        return json.loads(response.read())


def wait_caught_up(stack: RunningStack, timeout_s: float = 120) -> dict[str, Any]:
    """Until the event path is drained: no stream record left untrimmed, no message in any queue."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = moto_stats(stack)
        pending = sum(t["stream_records"] for t in stats["tables"].values()) + sum(
            q["messages"] for name, q in stats["queues"].items() if not name.endswith("-dlq"))
        if pending == 0 or time.monotonic() > deadline:
            return stats
        time.sleep(0.5)


def run(products: int, small: int, patches_per_writer: int, idle_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bazaar-scaling-") as tmp:
        stack = start_stack(Path(tmp) / ".local")
        try:
            return _measure(stack, products, small, patches_per_writer, idle_s)
        finally:
            stop_stack(stack)


def _measure(stack: RunningStack, products: int, small: int, per_writer: int, idle_s: float) -> dict[str, Any]:
    pid = stack.info["pid"]
    sellers = [u["username"] for u in stack.info["users"] if u["group"] == "seller"]
    writers = [Writer(stack.url, tokens(stack, s)["AccessToken"]) for s in sellers for _ in range(WRITERS_PER_SELLER)]
    existing = len(stack.info["demo_product_ids"])
    existing += grow(writers, max(small, existing + 4 * len(writers)), existing)  # also warms every function
    patches(writers, 5)
    lat_small = patches(writers, per_writer)
    wait_caught_up(stack)
    rss_before, roles_before = total_rss_mib(pid), rss_by_role(pid)
    writes = grow(writers, products, existing)
    lat_big = patches(writers, per_writer)
    writes += len(writers) * per_writer
    stats = wait_caught_up(stack)
    rss_after, roles_after = total_rss_mib(pid), rss_by_role(pid)
    time.sleep(idle_s)
    rss_idle = total_rss_mib(pid)
    return {
        "products": (small, products),
        "patch_median_ms": (statistics.median(lat_small), statistics.median(lat_big)),
        "patch_p95_ms": (_p95(lat_small), _p95(lat_big)),
        "patches": (len(lat_small), len(lat_big)),
        "writes": writes,
        "rss_mib": (rss_before, rss_after, rss_idle),
        "roles_kib": (roles_before, roles_after),
        "errors": sum(w.errors for w in writers),
        "moto": stats,
        "idle_s": idle_s,
    }


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def report(r: dict[str, Any]) -> str:
    small, big = r["products"]
    (m_small, m_big), (p_small, p_big) = r["patch_median_ms"], r["patch_p95_ms"]
    before, after, idle = r["rss_mib"]
    per_1k = (after - before) / r["writes"] * 1000
    ratio = m_big / m_small
    lines = [
        f"PATCH /products/{{id}}, {r['patches'][0]} + {r['patches'][1]} requests, 4 writers:",
        f"  {small:>5} products   median {m_small:7.1f} ms   p95 {p_small:7.1f} ms",
        f"  {big:>5} products   median {m_big:7.1f} ms   p95 {p_big:7.1f} ms",
        f"  ratio of medians {ratio:.2f} (goal <= {PATCH_GOAL_RATIO}){'' if ratio <= PATCH_GOAL_RATIO else '  MISSED'}",
        f"memory of the whole stack over {r['writes']} writes: {before:.0f} -> {after:.0f} MiB,"
        f" {per_1k:.1f} MiB per 1,000 writes (goal <= {MEMORY_GOAL_MIB_PER_1K_WRITES})"
        f"{'' if per_1k <= MEMORY_GOAL_MIB_PER_1K_WRITES else '  MISSED'}",
        f"  idle {r['idle_s']:.0f} s afterwards: {after:.0f} -> {idle:.0f} MiB ({idle - after:+.1f} MiB)",
        "  per process (MiB): " + ", ".join(f"{k} {r['roles_kib'][0].get(k, 0) / 1024:.0f}->{v / 1024:.0f}"
                                            for k, v in sorted(r["roles_kib"][1].items())),
        "moto retains: " + ", ".join(
            f"{name}: {t['items']} items, {t['stream_records']} stream records ({t['stream_trimmed']} trimmed)"
            for name, t in r["moto"]["tables"].items())
        + f"; {r['moto']['shard_iterators']} shard iterators; "
        + ", ".join(f"{n}: {t['sent_notifications']} notifications" for n, t in r["moto"]["topics"].items()),
        f"requests answered >= 300: {r['errors']}",
    ]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="make scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1500)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--patches", type=int, default=100, help="PATCHes per writer at each size")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measured at the end")
    args = parser.parse_args(argv)
    print(report(run(args.products, args.small, args.patches, args.idle)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
