"""The processes a local stack started, by role, their resident memory and CPU time (read from /proc); and how
fast the (shared) machine is right now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from local.procs import descendants, rss_kib


def role(pid: int) -> str:
    """``main``, ``moto``, ``valkey``, ``worker:<function>`` or ``other:<program>``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    text = b" ".join(argv).decode(errors="replace")
    if "local.moto_child" in text:
        return "moto"
    if "valkey-server" in text:
        return "valkey"
    if "lambda_bootstrap.py" in text:
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return "worker:?"
        names = [e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"AWS_LAMBDA_FUNCTION_NAME=")]
        return f"worker:{names[0] if names else '?'}"
    return "other:" + Path(argv[0].decode(errors="replace")).name


def rss_by_process(main_pid: int) -> dict[int, tuple[str, int]]:
    """Every live process of the stack (the main process and all its descendants): pid -> (role, RSS KiB)."""
    out = {main_pid: ("main", rss_kib(main_pid))}
    for pid in descendants(main_pid):
        kib = rss_kib(pid)
        if kib:
            out[pid] = (role(pid), kib)
    return out


def rss_by_role(main_pid: int) -> dict[str, int]:
    """RSS KiB summed per role; workers are summed into ``workers`` (their number changes with the load)."""
    totals: dict[str, int] = {}
    for name, kib in rss_by_process(main_pid).values():
        key = "workers" if name.startswith("worker:") else name
        totals[key] = totals.get(key, 0) + kib
    return totals


def total_rss_mib(main_pid: int) -> float:
    return sum(kib for _, kib in rss_by_process(main_pid).values()) / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def cpu_by_process(main_pid: int) -> dict[int, float]:
    """CPU seconds so far of the main process and every descendant."""
    return {pid: cpu_seconds(pid) for pid in [main_pid, *descendants(main_pid)]}


class CpuMeter:
    """CPU seconds the stack's processes used since the last reading (a process started meanwhile counts whole)."""

    def __init__(self, main_pid: int) -> None:
        self._pid, self._last = main_pid, cpu_by_process(main_pid)

    def take(self) -> float:
        now = cpu_by_process(self._pid)
        used = sum(seconds - self._last.get(pid, 0.0) for pid, seconds in now.items())
        self._last = now
        return used


PROBE = ("import time\nt = time.perf_counter()\nx = 0\nfor i in range(300_000):\n    x += i * i\n"
         "print((time.perf_counter() - t) * 1000)")


def machine_probe_ms() -> float:
    """Milliseconds a fixed piece of CPU-bound work takes in a fresh process now: the machine's speed, which
    other work on a shared machine changes. Latency is compared in its terms."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    return float(done.stdout)
