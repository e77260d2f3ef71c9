"""What a soak's minute-by-minute samples mean: the tables it prints and the verdict (no Locust, no stack: pure).

A ``Sample`` is one minute of the run: the resident memory of every process the stack started, the requests of
that minute by route, and the writes so far. The verdict:

- **memory**: from the end of the warm-up to the last minute under load, the processes alive at both ends may
  grow by at most ``max_mib_per_1k_writes`` per 1,000 writes (the data a write adds, an outbox event and
  idempotency records, is kept for days, as in DynamoDB); and they must not grow while idle (``idle_slack_mib``).
  An execution environment started in between (the runtime adds one when concurrency rises, up to its cap) is
  reported, not counted: a leak shows in the processes that live on, and the pool of environments is bounded;
- **latency**: for every route, the median of the last third of the minutes under load may be at most
  ``max_drift`` times the median of the first third (each over all the requests of those minutes, so one noisy
  minute on a shared machine does not decide). A rise of less than ``drift_floor_ms`` is noise and passes; a
  route needs ``min_requests`` in both windows to be judged.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Optional

ROLES = ("main", "moto", "valkey", "workers")


@dataclass
class RouteMinute:
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def p50(self) -> Optional[float]:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def p95(self) -> Optional[float]:
        if len(self.latencies_ms) < 2:
            return self.p50
        return statistics.quantiles(self.latencies_ms, n=20)[-1]


@dataclass
class Sample:
    minute: int
    phase: str  # "warm-up", "load" or "idle"
    processes: dict[int, tuple[str, float]]  # pid -> (role: main, moto, valkey, worker:<function>; RSS MiB)
    writes: int  # successful writes since the start (cumulative)
    routes: dict[str, RouteMinute] = field(default_factory=dict)
    seconds: float = 60.0
    retained: dict[str, int] = field(default_factory=dict)  # what moto retains (items, stream records)

    @property
    def rss_mib(self) -> dict[str, float]:
        """By role (ROLES): every worker counts under ``workers``."""
        out = {role: 0.0 for role in ROLES}
        for role, mib in self.processes.values():
            key = "workers" if role.startswith("worker:") else role
            out[key if key in out else "main"] += mib
        return out

    @property
    def workers(self) -> int:
        return sum(1 for role, _ in self.processes.values() if role.startswith("worker:"))

    @property
    def total_mib(self) -> float:
        return sum(mib for _, mib in self.processes.values())

    @property
    def requests(self) -> int:
        return sum(r.count for r in self.routes.values())

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.routes.values())


@dataclass
class Limits:
    max_mib_per_1k_writes: float = 150.0
    idle_slack_mib: float = 2.0
    max_drift: float = 1.5
    drift_floor_ms: float = 5.0
    min_requests: int = 20


def loaded(samples: list[Sample]) -> tuple[Optional[Sample], Optional[Sample]]:
    """(the last warm-up minute, the last minute under load)."""
    warm = [s for s in samples if s.phase == "warm-up"]
    load = [s for s in samples if s.phase == "load"]
    return (warm[-1] if warm else None), (load[-1] if load else None)


def grown(before: Sample, after: Sample) -> float:
    """MiB grown by the processes alive in both samples."""
    return sum(after.processes[pid][1] - mib for pid, (_, mib) in before.processes.items() if pid in after.processes)


def started(before: Sample, after: Sample) -> list[tuple[str, float]]:
    """The processes alive in ``after`` that ``before`` did not have: (role, MiB)."""
    return [proc for pid, proc in after.processes.items() if pid not in before.processes]


def memory_growth(samples: list[Sample]) -> tuple[Optional[float], int, float]:
    """(MiB per 1,000 writes after the warm-up or None without writes, writes, MiB grown)."""
    base, last = loaded(samples)
    if base is None or last is None:
        return None, 0, 0.0
    mib, writes = grown(base, last), last.writes - base.writes
    return (mib / writes * 1000 if writes else None), writes, mib


def idle_growth(samples: list[Sample]) -> Optional[float]:
    idle = [s for s in samples if s.phase == "idle"]
    return grown(idle[0], idle[-1]) if len(idle) >= 2 else None


def _pooled(samples: list[Sample]) -> dict[str, RouteMinute]:
    out: dict[str, RouteMinute] = {}
    for s in samples:
        for route, minute in s.routes.items():
            pooled = out.setdefault(route, RouteMinute())
            pooled.latencies_ms.extend(minute.latencies_ms)
            pooled.failures += minute.failures
    return out


def drift(samples: list[Sample], limits: Limits) -> dict[str, tuple[float, float, float]]:
    """Per judged route: (median of the first third under load, of the last third, ratio)."""
    load = [s for s in samples if s.phase == "load"]
    third = round(len(load) / 3)
    out: dict[str, tuple[float, float, float]] = {}
    if third == 0:
        return out
    first, last = _pooled(load[:third]), _pooled(load[-third:])
    for route, before in first.items():
        after = last.get(route)
        if after is None or min(before.count, after.count) < limits.min_requests:
            continue
        assert before.p50 is not None and after.p50 is not None
        out[route] = (before.p50, after.p50, after.p50 / before.p50 if before.p50 else float("inf"))
    return out


def problems(samples: list[Sample], limits: Limits) -> list[str]:
    """Why the soak fails (empty: it passes)."""
    found = []
    if sum(1 for s in samples if s.phase == "load") < 3:
        return ["fewer than 3 minutes under load after the warm-up: nothing to compare"]
    per_1k, writes, mib = memory_growth(samples)
    if per_1k is None:
        if mib > limits.idle_slack_mib:
            found.append(f"memory grew {mib:.1f} MiB after the warm-up without a single write")
    elif per_1k > limits.max_mib_per_1k_writes:
        found.append(f"memory grew {per_1k:.1f} MiB per 1,000 writes after the warm-up ({mib:.1f} MiB over "
                     f"{writes} writes; limit {limits.max_mib_per_1k_writes:g})")
    idle = idle_growth(samples)
    if idle is not None and idle > limits.idle_slack_mib:
        found.append(f"memory grew {idle:.1f} MiB while idle (limit {limits.idle_slack_mib:g})")
    for route, (before, after, ratio) in drift(samples, limits).items():
        if ratio > limits.max_drift and after - before > limits.drift_floor_ms:
            found.append(f"{route}: median {before:.1f} -> {after:.1f} ms ({ratio:.2f}x; limit {limits.max_drift}x)")
    return found


def _by_role(before: Sample, after: Sample) -> str:
    deltas: dict[str, float] = {}
    for pid, (role, mib) in before.processes.items():
        if pid in after.processes:
            deltas[role] = deltas.get(role, 0.0) + after.processes[pid][1] - mib
    return ", ".join(f"{role} {delta:+.1f}" for role, delta in sorted(deltas.items()))


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.0f}"


def render(samples: list[Sample]) -> str:
    """The memory table and the latency table, a row per minute."""
    routes = sorted({r for s in samples for r in s.routes})
    lines = [f"{'min':>4} {'phase':8} {'req/s':>6} {'fail':>5} {'writes':>7} | RSS MiB {'total':>6} "
             + " ".join(f"{r:>7}" for r in ROLES) + f" {'(n)':>4} | moto {'items':>6} {'stream':>6}"]
    for s in samples:
        kept = s.retained
        lines.append(f"{s.minute:>4} {s.phase:8} {s.requests / s.seconds:6.1f} {s.failures:5d} {s.writes:7d} | "
                     f"        {s.total_mib:6.0f} " + " ".join(f"{s.rss_mib.get(r, 0):7.0f}" for r in ROLES)
                     + f" {s.workers:4d} |      {kept.get('items', 0):6d} {kept.get('stream_records', 0):6d}")
    lines += ["", "latency per route, median/p95 ms (requests)"]
    width = max([len(r) for r in routes] + [10])
    lines.append(f"{'route':{width}} " + " ".join(f"{'min ' + str(s.minute):>16}" for s in samples if s.routes))
    for route in routes:
        cells = []
        for s in samples:
            if not s.routes:
                continue
            m = s.routes.get(route)
            cells.append(f"{(_ms(m.p50) + '/' + _ms(m.p95) + ' (' + str(m.count) + ')') if m else '-':>16}")
        lines.append(f"{route:{width}} " + " ".join(cells))
    return "\n".join(lines)


def summary(samples: list[Sample], limits: Limits) -> str:
    per_1k, writes, mib = memory_growth(samples)
    idle = idle_growth(samples)
    base, last = loaded(samples)
    lines = [f"memory after the warm-up, processes alive throughout: {mib:+.1f} MiB over {writes} writes"
             + (f" = {per_1k:.1f} MiB per 1,000 writes (limit {limits.max_mib_per_1k_writes:g})"
                if per_1k is not None else "")]
    if base is not None and last is not None:
        new = started(base, last)
        lines.append(f"  whole stack {base.total_mib:.0f} -> {last.total_mib:.0f} MiB; environments started meanwhile"
                     f" (not counted): {len(new)}, {sum(m for _, m in new):.0f} MiB"
                     + (f" ({', '.join(sorted(r.split(':', 1)[-1] for r, _ in new))})" if new else ""))
    lines.append(f"memory while idle: {'-' if idle is None else f'{idle:+.1f} MiB'} (limit {limits.idle_slack_mib:g})")
    if base is not None and last is not None:
        lines.append("  by process after the warm-up (MiB): " + _by_role(base, last))
    idle_samples = [s for s in samples if s.phase == "idle"]
    if len(idle_samples) >= 2:
        lines.append("  by process while idle (MiB): " + _by_role(idle_samples[0], idle_samples[-1]))
    for route, (before, after, ratio) in sorted(drift(samples, limits).items()):
        lines.append(f"{route}: median {before:.1f} -> {after:.1f} ms, first to last third under load ({ratio:.2f}x)")
    return "\n".join(lines)
