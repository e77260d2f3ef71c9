"""``make load``: the shared Locust workload (tests/load/workload.py, the one ``make soak`` runs) through a fresh
local stack for a bounded time, then its figures: throughput, p50/p95/p99 per route, responses by status, cache hit
ratio of the read routes (their ``X-Cache`` header).

    make load                                   # 60 s, 16 users (3 shoppers to 1 seller to 1 customer)
    make load LOAD_ARGS="--seconds 30 --users 8"
    python -m tests.load.load --stack-json .local/stack.json   # against a stack that is already running

The first ``--warmup`` seconds (cold starts, an empty cache) are run but not counted. Prints a table, writes
build/load.json and exits 1 if any request failed (a status the workload does not expect).
"""

from __future__ import annotations

from gevent import monkey  # Locust needs the standard library patched before anything else imports it

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Optional  # noqa: E402

import gevent  # noqa: E402
from locust import events  # noqa: E402
from locust.env import Environment  # noqa: E402

from tests.load import workload  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_JSON = REPO / "build" / "load.json"
MAX_SECONDS = 60


def quantile(values: list[float], q: float) -> Optional[float]:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


@dataclass
class Route:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    cache: Counter = field(default_factory=Counter)
    failures: int = 0

    def summary(self, seconds: float) -> dict[str, Any]:
        n = len(self.latencies_ms)
        lookups = self.cache["HIT"] + self.cache["MISS"]
        return {"requests": n, "per_s": round(n / seconds, 1) if seconds else None,
                "p50_ms": _ms(statistics.median(self.latencies_ms)) if n else None,
                "p95_ms": _ms(quantile(self.latencies_ms, 0.95)), "p99_ms": _ms(quantile(self.latencies_ms, 0.99)),
                "max_ms": _ms(max(self.latencies_ms)) if n else None,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}, "failures": self.failures,
                "cache": dict(self.cache), "hit_ratio": round(self.cache["HIT"] / lookups, 3) if lookups else None}


def _ms(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


class Recorder:
    """Every request after the warm-up: latency, status, failure and cache status, by route name."""

    def __init__(self, warmup_s: float) -> None:
        self.routes: dict[str, Route] = defaultdict(Route)
        self.counting_from = time.monotonic() + warmup_s
        self.warmup_requests = 0
        events.request.add_listener(self.on_request)

    def on_request(self, name: str, response_time: float, response: Any = None,
                   exception: Optional[BaseException] = None, **_: Any) -> None:
        if time.monotonic() < self.counting_from:
            self.warmup_requests += 1
            return
        route = self.routes[name]
        route.latencies_ms.append(response_time)
        status = getattr(response, "status_code", 0) or 0
        route.statuses[status] += 1
        if exception is not None:
            route.failures += 1
        cache = (getattr(response, "headers", None) or {}).get("X-Cache")
        if cache:
            route.cache[cache] += 1


def run(host: str, seconds: float, users: int, warmup_s: float, say: Any = print) -> dict[str, Any]:
    classes = workload.user_classes()
    recorder = Recorder(warmup_s)
    env = Environment(user_classes=classes, host=host, events=events)
    runner = env.create_local_runner()
    say(f"load: {users} users ({', '.join(c.__name__ for c in classes)}) for {seconds:g} s "
        f"({warmup_s:g} s warm-up not counted) against {host}")
    started = time.monotonic()
    runner.start(users, spawn_rate=users)
    gevent.sleep(seconds)
    runner.quit()
    counted_s = max(time.monotonic() - max(recorder.counting_from, started), 1e-9)
    routes = {name: r.summary(counted_s) for name, r in sorted(recorder.routes.items())}
    total = sum(r["requests"] for r in routes.values())
    statuses: Counter = Counter()
    for r in recorder.routes.values():
        statuses.update(r.statuses)
    hits = sum(r.cache["HIT"] for r in recorder.routes.values())
    lookups = hits + sum(r.cache["MISS"] for r in recorder.routes.values())
    return {"users": users, "user_classes": [c.__name__ for c in classes], "seconds": seconds,
            "warmup_s": warmup_s, "counted_s": round(counted_s, 1), "warmup_requests": recorder.warmup_requests,
            "requests": total, "per_s": round(total / counted_s, 1),
            "failures": sum(r["failures"] for r in routes.values()),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "cache_hit_ratio": round(hits / lookups, 3) if lookups else None, "routes": routes}


def render(res: dict[str, Any]) -> str:
    lines = [f"{res['requests']} requests in {res['counted_s']:g} s counted = {res['per_s']:g} req/s "
             f"({res['users']} users: {', '.join(res['user_classes'])}; {res['warmup_requests']} warm-up "
             f"requests not counted); failures: {res['failures']}; by status: {res['statuses']}; cache hit ratio "
             f"of the read routes: {_pct(res['cache_hit_ratio'])}", ""]
    header = ["route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses", "failed", "hit ratio"]
    rows = [[name, str(r["requests"]), _num(r["per_s"]), _num(r["p50_ms"]), _num(r["p95_ms"]), _num(r["p99_ms"]),
             _num(r["max_ms"]), " ".join(f"{k}:{v}" for k, v in r["statuses"].items()), str(r["failures"]),
             _pct(r["hit_ratio"])] for name, r in res["routes"].items()]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    fmt = lambda row: "  ".join(c.ljust(w) if i in (0, 7) else c.rjust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    lines += [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]
    return "\n".join(lines)


def _num(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:g}"


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="make load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=MAX_SECONDS, help=f"under load (at most {MAX_SECONDS})")
    parser.add_argument("--users", type=int, default=16, help="simulated users, split by the workload's weights")
    parser.add_argument("--warmup", type=float, default=10, help="seconds run but not counted")
    parser.add_argument("--stack-json", type=Path, help="a running stack's stack.json (default: start a fresh one)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"output JSON (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS or not 0 <= args.warmup < args.seconds:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}] and --warmup below it")

    if args.stack_json:
        os.environ[workload.STACK_JSON_ENV] = str(args.stack_json)
        res = run(json.loads(args.stack_json.read_text())["api_url"], args.seconds, args.users, args.warmup)
    else:
        from tests.e2e.conftest import start_stack, stop_stack

        with tempfile.TemporaryDirectory(prefix="bazaar-load-") as tmp:
            stack = start_stack(Path(tmp) / ".local")
            os.environ[workload.STACK_JSON_ENV] = str(stack.local_dir / "stack.json")
            try:
                res = run(stack.url, args.seconds, args.users, args.warmup)
            finally:
                stop_stack(stack)
    print()
    print(render(res))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwrote {args.json}", flush=True)
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
