"""``python -m tests.bench.durations``: per function, the handler durations of a request mix on the local stack,
read from the ``platform.report`` records the local Lambda runtime writes (as Lambda's JSON log format does).

It starts a stack like ``make run``, drives ``-n`` rounds of every route it knows how to call (consumers run as
the events they cause arrive), then prints, per function, the number of warm invocations, their median and p90
``durationMs``, the median init duration and the memory size; ``--json`` writes them. ``docs/cost.md`` turns them
into GB-seconds. Local durations are on this machine's CPU (x86_64, shared), not Lambda's arm64 at the
function's memory size: read them as a model input, not as a measurement of AWS.
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
from pathlib import Path
from typing import Any, Callable

from bazaar import manifest
from bazaar.domain.payments import signature_header
from bazaar.resources import ACCESS_LOG_FILE

from tests.e2e.conftest import RunningStack, http, start_stack, stop_stack, tokens

NEW = {"name": "Bench lamp", "description": "A lamp", "price_cents": 1999, "currency": "EUR", "stock": 1000}


def _user(stack: RunningStack, group: str) -> str:
    return next(u["username"] for u in stack.info["users"] if u["group"] == group)


def _signed(stack: RunningStack, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    signed = signature_header(stack.info["payment_webhook_secret"].encode(), int(time.time()), raw)
    return raw, {"Bazaar-Signature": signed, "content-type": "application/json"}


def drive(stack: RunningStack, rounds: int) -> dict[str, int]:
    """Every known route, ``rounds`` times; returns the status counts per route (a sanity check)."""
    url = stack.url
    seller = tokens(stack, _user(stack, "seller"))["AccessToken"]
    customer = tokens(stack, _user(stack, "customer"))["AccessToken"]
    has = set(manifest.BY_NAME)
    seen: dict[str, int] = {}

    def call(name: str, fn: Callable[[], Any]) -> Any:
        if name not in has:
            return None
        r = fn()
        seen[f"{name} {r.status}"] = seen.get(f"{name} {r.status}", 0) + 1
        return r

    for _ in range(rounds):
        call("health", lambda: http("GET", f"{url}/health"))
        call("openapi", lambda: http("GET", f"{url}/openapi.json"))
        created = call("create_product", lambda: http("POST", f"{url}/products", NEW, token=seller))
        if created.status != 201:  # counted in the statuses; the round goes on without a product
            print(f"create_product {created.status}: {created.body[:200]!r}", file=sys.stderr)
            continue
        pid = created.json()["product_id"]
        for _ in range(3):  # reads dominate a catalog: cache hits after the first
            call("get_product", lambda: http("GET", f"{url}/products/{pid}"))
        call("list_products", lambda: http("GET", f"{url}/products?limit=20"))
        call("update_product", lambda: http("PATCH", f"{url}/products/{pid}", {"stock": 999}, token=seller))
        order = call("create_order", lambda: http(
            "POST", f"{url}/orders", {"items": [{"product_id": pid, "quantity": 1}], "payment_method": "pm_async"},
            token=customer, headers={"Idempotency-Key": str(uuid.uuid4())}))
        if order is not None and order.status == 201:
            oid = order.json()["order_id"]
            call("get_order", lambda: http("GET", f"{url}/orders/{oid}", token=customer))
            call("list_orders", lambda: http("GET", f"{url}/orders", token=customer))
            raw, headers = _signed(stack, {"event_id": str(uuid.uuid4()), "type": "payment.succeeded",
                                           "order_id": oid})
            call("payment_webhook", lambda: http("POST", f"{url}/payments/webhook", raw, headers=headers))
            call("cancel_order", lambda: http("POST", f"{url}/orders/{oid}/cancel", token=customer))
        call("delete_product", lambda: http("DELETE", f"{url}/products/{pid}", token=seller))
    return seen


def reports(logs_dir: Path) -> dict[str, dict[str, Any]]:
    """Per function: warm durations, init durations and the log bytes it writes per invocation (CloudWatch Logs
    ingestion is billed per byte)."""
    out: dict[str, dict[str, Any]] = {}
    for fn in manifest.FUNCTIONS:
        path = logs_dir / f"{fn.name}.log"
        warm, init = [], []
        for line in path.read_text().splitlines() if path.exists() else []:
            if '"platform.report"' not in line:
                continue
            metrics = json.loads(line)["record"]["metrics"]
            if "initDurationMs" in metrics:  # the first invoke of an environment: its duration is not typical
                init.append(metrics["initDurationMs"])
            else:
                warm.append(metrics["durationMs"])
        if not warm:
            continue
        warm.sort()
        out[fn.name] = {"memory_mb": fn.memory_mb, "warm_invocations": len(warm),
                        "log_bytes_per_invocation": round(path.stat().st_size / (len(warm) + len(init))),
                        "median_ms": round(statistics.median(warm), 1),
                        "p90_ms": round(warm[min(len(warm) - 1, int(0.9 * len(warm)))], 1),
                        "init_median_ms": round(statistics.median(init), 1) if init else None}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.durations", description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--rounds", type=int, default=40, help="rounds of the request mix (default 40)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds to let consumers finish (default 5)")
    p.add_argument("--json", type=Path, help="write the figures here")
    a = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp) / ".local")
        try:
            statuses = drive(stack, a.rounds)
            time.sleep(a.settle)
            figures = reports(stack.local_dir / "logs")
            access = stack.local_dir / "logs" / ACCESS_LOG_FILE
            lines = access.read_text().count("\n") if access.exists() else 0
            access_bytes = round(access.stat().st_size / lines) if lines else 0
        finally:
            stop_stack(stack)
    load = (round(load_before, 1), round(os.getloadavg()[0], 1))
    print(f"load average (1 min) before / after: {load[0]} / {load[1]} on {os.cpu_count()} cores: durations grow "
          f"with it; compare runs at similar load")
    print(f"{'function':20} {'MB':>5} {'warm n':>7} {'median ms':>10} {'p90 ms':>8} {'init ms':>8}")
    for name, f in figures.items():
        print(f"{name:20} {f['memory_mb']:5} {f['warm_invocations']:7} {f['median_ms']:10} {f['p90_ms']:8} "
              f"{f['init_median_ms'] if f['init_median_ms'] is not None else '-':>8}")
    print("log bytes per invocation:", {n: f["log_bytes_per_invocation"] for n, f in figures.items()},
          "| access log bytes per request:", access_bytes)
    print("statuses:", json.dumps(statuses, sort_keys=True))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"rounds": a.rounds, "load_average": load, "functions": figures, "access_log_bytes_per_request": access_bytes,
                                         "statuses": statuses}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
