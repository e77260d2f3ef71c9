"""Cached against uncached reads, in one warm execution environment per route, against local moto and Valkey:

- latency: the same request alternately with its cache entry dropped just before (a miss: DynamoDB read + fill)
  and right after (a hit), handler entry to exit; the speed-up is the ratio of the medians;
- DynamoDB reads saved: one request mix (Zipf-distributed over the keys, a change to what a request reads before
  ``CHANGE_RATE`` of them) with the cache and without it; reads are counted as the function sends them to DynamoDB.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any, Optional

from bazaar.adapters.cache import LIST_GENERATION_KEY, product_key
from tests.bench.backend import SELLER_SUB, Backend
from tests.bench.measure import CHILD_TIMEOUT_S, _python_cmd, run_child
from tests.support.events import http_event

ZIPF_S = 1.1
CHANGE_RATE = 0.02
GOAL_SPEEDUP = 5.0
GOAL_SAVED = 0.90


def zipf_workload(keys: int, requests: int, seed: int = 7) -> list[tuple[int, bool]]:
    """(key index, changed before this request) pairs; key 0 is the most popular."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) ** ZIPF_S for k in range(keys)]
    picks = rng.choices(range(keys), weights=weights, k=requests)
    return [(k, rng.random() < CHANGE_RATE) for k in picks]


def product_events(backend: Backend) -> list[dict[str, Any]]:
    out = []
    for pid in backend.products:
        event = http_event("GET", f"/products/{pid}", route_key="GET /products/{product_id}",
                           path_parameters={"product_id": pid})
        out.append({"event": event, "forget": ["del", product_key(pid)]})
    return out


def list_events() -> list[dict[str, Any]]:
    """Listings a storefront asks for, most popular first; any catalog change forgets every page."""
    queries = ["limit=20", f"seller_id={SELLER_SUB}&limit=20", "limit=10", "limit=50", f"seller_id={SELLER_SUB}"]
    return [{"event": http_event("GET", "/products", query=q), "forget": ["incr", LIST_GENERATION_KEY]}
            for q in queries]


def run(module: str, paths: tuple[str, ...], env: dict[str, str], events: list[dict[str, Any]], n: int,
        requests: int, scratch: Path, events_path: str, cache_url: str, function_name: str,
        python: str = sys.executable) -> dict[str, Any]:
    spec = {"events": events, "n": n, "workload": zipf_workload(len(events), requests), "cache_url": cache_url,
            "events_path": events_path, "function_name": function_name}
    scratch.mkdir(parents=True, exist_ok=True)
    spec_path = scratch.resolve() / f"cache-{module}.json"
    spec_path.write_text(json.dumps(spec))
    cmd = _python_cmd(python) + ["cache", module, "handler", os.pathsep.join(paths), str(spec_path)]
    report, _ = run_child(cmd, env, paths[0], f"cache {module}", timeout_s=CHILD_TIMEOUT_S * 3)
    if "error" in report:
        return report
    return summarize(report)


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    cached, uncached = report["cached_us"]["median"], report["uncached_us"]["median"]
    w = report["workload"]
    saved: Optional[float] = (1 - w["reads_with_cache"] / w["reads_without_cache"]
                              if w["reads_without_cache"] else None)
    speedup = uncached / cached if cached else None
    return {**report, "speedup": None if speedup is None else round(speedup, 1),
            "reads_saved": None if saved is None else round(saved, 3),
            "hit_ratio": round(w["hits"] / w["requests"], 3) if w["requests"] else None,
            "meets_goal": bool(speedup and speedup >= GOAL_SPEEDUP and saved is not None and saved >= GOAL_SAVED)}
