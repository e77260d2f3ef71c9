"""`make load` (tests/load/load.py): the shared workload, bounded, against a running stack; its figures add up."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import PYTHON, REPO

pytestmark = pytest.mark.e2e


def test_a_short_load_run_reports_every_route_status_and_the_cache(stack, tmp_path):
    out = tmp_path / "load.json"
    run = subprocess.run([str(PYTHON), "-m", "tests.load.load", "--stack-json", str(stack.local_dir / "stack.json"),
                          "--seconds", "5", "--users", "8", "--warmup", "1", "--json", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["failures"] == 0 and res["requests"] > 0 and res["per_s"] > 0
    assert {"Shopper", "Seller", "Customer"} <= set(res["user_classes"])
    routes = res["routes"]
    assert "GET /products/{product_id}" in routes and "GET /products" in routes
    assert sum(r["requests"] for r in routes.values()) == res["requests"]
    assert sum(res["statuses"].values()) == res["requests"]
    for name, r in routes.items():
        assert sum(r["statuses"].values()) == r["requests"], name
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"], name
    reads = [routes[n] for n in ("GET /products/{product_id}", "GET /products")]
    lookups = sum(sum(r["cache"].values()) for r in reads)
    assert lookups == sum(r["statuses"].get("200", 0) for r in reads)  # every read answered says HIT or MISS
    assert 0 <= res["cache_hit_ratio"] <= 1
    assert "req/s" in run.stdout and "hit ratio" in run.stdout
