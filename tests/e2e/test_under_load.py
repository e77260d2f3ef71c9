"""The local stack under load: memory per write and while idle, what moto retains, and the shared Locust
workload (tests/load/workload.py) running clean against the stack."""

from __future__ import annotations

import csv
import os
import subprocess
import time

import pytest

from local import moto_patches
from tests.e2e.conftest import PYTHON, REPO, tokens
from tests.load.processes import total_rss_mib
from tests.load.scaling import Writer, grow, moto_stats, patches, wait_caught_up

pytestmark = pytest.mark.e2e

WRITERS_PER_SELLER = 1
MIB_PER_1K_WRITES = 150  # the stack's whole resident memory (every process it started)
IDLE_S, IDLE_SLACK_MIB = 5, 2.0


def _pending(stats: dict) -> int:
    return sum(t["stream_records"] for t in stats["tables"].values()) + sum(
        q["messages"] for name, q in stats["queues"].items() if not name.endswith("-dlq"))


def test_memory_grows_little_per_write_and_not_while_idle(stack):
    pid = stack.info["pid"]
    sellers = [u["username"] for u in stack.info["users"] if u["group"] == "seller"]
    writers = [Writer(stack.url, tokens(stack, s)["AccessToken"]) for s in sellers for _ in range(WRITERS_PER_SELLER)]
    # warm-up at the same concurrency: every environment the burst needs is started before the baseline
    grow(writers, 20, 0)
    patches(writers, 10)
    wait_caught_up(stack)
    before = total_rss_mib(pid)

    writes = grow(writers, 120, 20) + len(patches(writers, 50))
    stats = wait_caught_up(stack)
    after = total_rss_mib(pid)
    assert sum(w.errors for w in writers) == 0
    assert writes == 200
    per_1k = (after - before) / writes * 1000
    assert per_1k <= MIB_PER_1K_WRITES, f"{before:.0f} -> {after:.0f} MiB over {writes} writes"

    # the event path caught up, and moto let go of what it no longer needs
    assert _pending(stats) == 0, stats
    assert stats["tables"]["bazaar-local-table"]["stream_trimmed"] >= 2 * writes  # change + outbox record each
    models = stats["live_models"]
    assert models.get("dynamodb.StreamRecord", 0) == 0
    assert models.get("dynamodbstreams.ShardIterator", 0) <= moto_patches.MAX_SHARD_ITERATORS
    assert all(t["sent_notifications"] <= moto_patches.SNS_HISTORY for t in stats["topics"].values())

    time.sleep(IDLE_S)  # pollers keep polling; nothing else happens
    idle = total_rss_mib(pid)
    assert idle - after <= IDLE_SLACK_MIB, f"{after:.1f} -> {idle:.1f} MiB in {IDLE_S} s idle"
    assert moto_stats(stack)["live_models"].get("dynamodbstreams.ShardIterator", 0) <= moto_patches.MAX_SHARD_ITERATORS


def test_the_shared_workload_runs_clean_against_the_stack(stack, tmp_path):
    """tests/load/workload.py as `make soak` and the load benchmarks run it: Locust, headless, every request OK."""
    env = {**os.environ, "BAZAAR_STACK_JSON": str(stack.local_dir / "stack.json")}
    result = subprocess.run(
        [str(PYTHON.parent / "locust"), "-f", "tests/load/workload.py", "--headless", "-u", "8", "-r", "8",
         "-t", "6s", "--host", stack.url, "--only-summary", "--csv", str(tmp_path / "run")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(tmp_path / "run_stats.csv") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    for route in ("GET /products/{product_id}", "GET /products", "POST /products"):  # requests named by route
        assert int(rows[route]["Request Count"]) > 0, route
    assert rows["Aggregated"]["Failure Count"] == "0"
