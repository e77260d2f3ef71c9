"""The processes a local stack started, by role, and their resident memory (read from /proc)."""

from __future__ import annotations

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
