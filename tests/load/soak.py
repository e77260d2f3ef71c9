"""``make soak``: the shared workload through a fresh local stack for a bounded time, watched minute by minute.

    make soak                                  # 10 minutes under load (2 of them warm-up), then 1 idle minute
    make soak SOAK_ARGS="--minutes 30 --users 32"

Starts the stack as ``make run`` does (in a temporary directory, on a free port), runs ``tests/load/workload.py``
with Locust in headless mode, in this process, and every ``--sample`` seconds records the resident memory and CPU
time of every process the stack started (main, moto, Valkey, every Lambda worker), the latency of every route in
that minute, what moto retains, and how fast the machine is at the moment (a fixed CPU-bound probe timed in a
process of its own every few seconds: the machine is shared, and the verdict reads latency in its terms). Then
it stops the users, waits for the event path to catch up and watches the idle stack. It prints the tables and
the verdict (``tests/load/verdict.py``) and exits 1 when the verdict fails.
"""

from __future__ import annotations

from gevent import monkey  # Locust needs the standard library patched before anything else imports it

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Optional  # noqa: E402

import gevent  # noqa: E402
from locust import events  # noqa: E402
from locust.env import Environment  # noqa: E402

from tests.e2e.conftest import RunningStack, start_stack, stop_stack  # noqa: E402
from tests.load import workload  # noqa: E402
from tests.load.processes import CpuMeter, machine_probe_ms, rss_by_process  # noqa: E402
from tests.load.verdict import Limits, RouteMinute, Sample, problems, render, summary  # noqa: E402


class Recorder:
    """Every request of the current minute, by route name; writes counted since the start: the write routes'
    2xx answers (an order refused for want of stock, a 409 or 422 the workload expects, stores nothing)."""

    def __init__(self) -> None:
        self.minute: dict[str, RouteMinute] = {}
        self.writes = 0
        events.request.add_listener(self.on_request)

    def on_request(self, name: str, response_time: float, response: Any = None,
                   exception: Optional[BaseException] = None, **_: Any) -> None:
        route = self.minute.setdefault(name, RouteMinute())
        route.latencies_ms.append(response_time)
        if exception is not None:
            route.failures += 1
        elif name in workload.WRITE_ROUTES and 200 <= (getattr(response, "status_code", 0) or 0) < 300:
            self.writes += 1

    def take(self) -> dict[str, RouteMinute]:
        taken, self.minute = self.minute, {}
        return taken


PROBE_EVERY_S = 5.0


class Probe:
    """The machine probe every few seconds, in the background (a greenlet: the probe runs in its own process)."""

    def __init__(self) -> None:
        self._times: list[float] = []
        self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while True:
            try:
                self._times.append(machine_probe_ms())
            except (subprocess.SubprocessError, ValueError):
                pass
            gevent.sleep(PROBE_EVERY_S)

    def take(self) -> Optional[float]:
        taken, self._times = self._times, []
        return statistics.median(taken) if taken else None

    def stop(self) -> None:
        self._greenlet.kill()


def moto_retained(stack: RunningStack) -> dict[str, int]:
    with urllib.request.urlopen(stack.info["aws_endpoint_url"] + "/_bazaar/stats", timeout=30) as response:
        stats = json.loads(response.read())
    tables = stats["tables"].values()
    return {"items": sum(t["items"] for t in tables), "stream_records": sum(t["stream_records"] for t in tables),
            "queued": sum(q["messages"] for name, q in stats["queues"].items() if not name.endswith("-dlq"))}


def sample(stack: RunningStack, minute: int, phase: str, recorder: Recorder, seconds: float, probe: Probe,
           cpu: CpuMeter) -> Sample:
    processes = {pid: (role, kib / 1024) for pid, (role, kib) in rss_by_process(stack.info["pid"]).items()}
    return Sample(minute, phase, processes, recorder.writes, recorder.take(), seconds, moto_retained(stack),
                  probe.take(), cpu.take())


def _say(line: str) -> None:
    print(line, flush=True)  # a row a minute, also when the output goes to a file


def soak(stack: RunningStack, minutes: float, warmup: float, users: int, every_s: float, idle_s: float,
         say: Any = _say) -> list[Sample]:
    recorder, probe, cpu = Recorder(), Probe(), CpuMeter(stack.info["pid"])
    env = Environment(user_classes=workload.user_classes(), host=stack.url, events=events)
    runner = env.create_local_runner()
    samples: list[Sample] = []
    say(f"soak: {users} users for {minutes:g} min ({warmup:g} warm-up), sampling every {every_s:g} s, "
        f"stack {stack.url} (pid {stack.info['pid']})")
    runner.start(users, spawn_rate=users)
    started = time.monotonic()
    minute = 0
    while time.monotonic() - started < minutes * 60 - 1:
        gevent.sleep(max(0.0, started + (minute + 1) * every_s - time.monotonic()))
        minute += 1
        phase = "warm-up" if minute * every_s <= warmup * 60 else "load"
        samples.append(sample(stack, minute, phase, recorder, every_s, probe, cpu))
        say(_row(samples[-1]))
    runner.quit()
    _wait_caught_up(stack)
    recorder.take()
    probe.stop()
    for step in range(2):  # idle: the event path has caught up and nobody calls
        if step:
            gevent.sleep(idle_s)
        minute += 1
        samples.append(sample(stack, minute, "idle", recorder, idle_s, probe, cpu))
        say(_row(samples[-1]))
    return samples


def _wait_caught_up(stack: RunningStack, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        retained = moto_retained(stack)
        if retained["stream_records"] == 0 and retained["queued"] == 0:
            return
        gevent.sleep(1)


def _row(s: Sample) -> str:
    probe = "-" if s.probe_ms is None else f"{s.probe_ms:.0f} ms"
    return (f"  minute {s.minute:3d} {s.phase:8} {s.requests / s.seconds:6.1f} req/s, {s.failures} failed, "
            f"{s.writes} writes, RSS {s.total_mib:.0f} MiB ({s.workers} workers), probe {probe}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.split("\n\n")[0])
    limits = Limits()
    parser.add_argument("--minutes", type=float, default=10, help="time under load, warm-up included")
    parser.add_argument("--warmup", type=float, default=2, help="minutes not judged at the start")
    parser.add_argument("--users", type=int, default=16, help="simulated users (3 shoppers to 1 seller to 1 customer)")
    parser.add_argument("--sample", type=float, default=60, help="seconds per row")
    parser.add_argument("--idle", type=float, default=60, help="seconds of idle watched at the end")
    parser.add_argument("--max-mib-per-1k-writes", type=float, default=limits.max_mib_per_1k_writes)
    parser.add_argument("--max-drift", type=float, default=limits.max_drift)
    args = parser.parse_args(argv)
    limits.max_mib_per_1k_writes, limits.max_drift = args.max_mib_per_1k_writes, args.max_drift

    with tempfile.TemporaryDirectory(prefix="bazaar-soak-") as tmp:
        stack = start_stack(Path(tmp) / ".local")
        os.environ[workload.STACK_JSON_ENV] = str(stack.local_dir / "stack.json")
        try:
            samples = soak(stack, args.minutes, args.warmup, args.users, args.sample, args.idle)
        finally:
            stop_stack(stack)
    print()
    print(render(samples))
    print()
    print(summary(samples, limits))
    found = problems(samples, limits)
    print("\nsoak " + ("FAILED:\n  " + "\n  ".join(found) if found else "passed"), flush=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
