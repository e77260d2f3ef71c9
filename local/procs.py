"""Child-process plumbing: free ports, process groups, parent-death safety, stopping, memory.

Every child runs in its own session (process group) so that (a) a Ctrl-C in the terminal reaches only the
stack's main process, which then stops children in order, and (b) stopping a child also stops anything it
started (``killpg``). If the main process dies without cleaning up (SIGKILL, crash), children still exit:
services started from the main thread get ``PR_SET_PDEATHSIG``; Lambda workers watch their parent pid and
their request pipe (see ``lambda_bootstrap.py``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to signal this process when the thread that forked it dies. Linux only; no-op elsewhere.

    Caveat (why workers do not use it): the signal fires when the *forking thread* exits, so it is only
    safe for children forked from a long-lived thread such as the main thread.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except OSError:
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (bind 0, read it, close). Racy in theory, fine on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Optional[Path] = None,
    stdout: object = subprocess.DEVNULL,
    stderr: object = subprocess.DEVNULL,
    stdin: object = subprocess.DEVNULL,
    pass_fds: Iterable[int] = (),
    parent_death_signal: bool = False,
) -> subprocess.Popen:
    """Start a child in its own session. ``parent_death_signal`` only from the main thread, before any
    other thread exists (``preexec_fn`` is not thread-safe)."""
    preexec = set_parent_death_signal if parent_death_signal else None
    return subprocess.Popen(
        list(argv), env=env, cwd=str(cwd) if cwd else None, stdout=stdout, stderr=stderr, stdin=stdin,
        pass_fds=tuple(pass_fds), start_new_session=True, preexec_fn=preexec, close_fds=True,
    )


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the child's whole process group (the child is its leader: pgid == pid)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(procs: Sequence[subprocess.Popen], grace_s: float = 1.5) -> None:
    """SIGTERM every group at once, wait up to ``grace_s`` in total, then SIGKILL the stragglers.

    Signalling all first and waiting once keeps shutdown time independent of the number of children.
    """
    live = [p for p in procs if p.poll() is None]
    for p in live:
        signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in live:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in live:
        if p.poll() is None:
            signal_group(p, signal.SIGKILL)
    for p in live:
        try:
            p.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
    for p in procs:  # groups whose leader already exited may still hold grandchildren
        signal_group(p, signal.SIGKILL)


def rss_kib(pid: int) -> int:
    """Resident set size of one process from /proc (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (walks /proc; used by tests and the RSS report)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
