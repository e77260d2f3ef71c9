"""A minimal Valkey client: RESP2 over one TCP or TLS connection, the few commands the cache sends, nothing else.

Why not redis-py: importing it costs every cache-using function 40-90 ms of its cold start (redis 8 imports its
asyncio, cluster and sentinel clients whatever one uses; ``make bench``, docs/caching.md), about a fifth of what a
Python Lambda that calls DynamoDB pays at least. The cache sends GET/SET/DEL/INCR/PTTL and one-key scripts, one
connection per container, no pub/sub, no cluster redirections (ElastiCache Serverless takes a non-cluster client):
that is a page of standard library code, tested against a real Valkey (tests/integration/test_valkey_client.py).

Failures are never retried here: the caller's circuit breaker decides. Any socket or protocol error closes the
connection (the next command opens a new one) and raises ``ValkeyUnavailable``; an error reply raises
``ValkeyReplyError``. Both are ``ValkeyError``.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union
from urllib.parse import unquote, urlsplit

Arg = Union[str, bytes, int, float]
Reply = Union[None, int, str, list[Any]]


class ValkeyError(Exception):
    pass


class ValkeyUnavailable(ValkeyError):
    """No answer: refused, reset, timed out, or a reply that is not RESP."""


class ValkeyReplyError(ValkeyError):
    """The server answered with an error (``-ERR ...``)."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool
    db: int = 0
    username: Optional[str] = None
    password: Optional[str] = None

    @classmethod
    def from_url(cls, url: str) -> "Endpoint":
        """``redis://[user:password@]host[:port][/db]``; ``rediss://`` for TLS (ElastiCache Serverless)."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "valkey", "valkeys") or not parts.hostname:
            raise ValueError("cache URL must be redis[s]://host[:port][/db]")
        db = parts.path.strip("/")
        return cls(parts.hostname, parts.port or 6379, parts.scheme in ("rediss", "valkeys"), int(db) if db else 0,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


def encode(args: Sequence[Arg]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out += [b"$%d\r\n" % len(data), data, b"\r\n"]
    return b"".join(out)


class Connection:
    """One connection, opened on first use, shared by the threads of a container (a lock per round trip)."""

    def __init__(self, endpoint: Endpoint, timeout_s: float) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._sock: Optional[socket.socket] = None
        self._file: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, timeout_s: float) -> "Connection":
        return cls(Endpoint.from_url(url), timeout_s)

    # --- commands -----------------------------------------------------------------------------------------------
    def execute(self, *args: Arg) -> Reply:
        [reply] = self.pipeline([args])
        if isinstance(reply, ValkeyReplyError):
            raise reply
        return reply

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Union[Reply, ValkeyReplyError]]:
        """Send every command, then read every reply: one round trip. Error replies are returned in place."""
        payload = b"".join(encode(c) for c in commands)
        with self._lock:
            try:
                self._connected()
                assert self._sock is not None
                self._sock.sendall(payload)
                return [self._read() for _ in commands]
            except (OSError, ValueError, ValkeyUnavailable) as exc:  # timeouts are OSErrors too
                self.close()
                raise ValkeyUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        sock, self._sock, self._file = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # --- wire -----------------------------------------------------------------------------------------------
    def _connected(self) -> None:
        if self._sock is not None:
            return
        e = self.endpoint
        sock = socket.create_connection((e.host, e.port), timeout=self.timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if e.tls:
                import ssl  # only TLS endpoints (AWS) pay for it

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=e.host)
            sock.settimeout(self.timeout_s)
            self._sock, self._file = sock, sock.makefile("rb")
            hello = []
            if e.password is not None:
                hello.append(("AUTH", e.username, e.password) if e.username else ("AUTH", e.password))
            if e.db:
                hello.append(("SELECT", e.db))
            for command in hello:
                sock.sendall(encode(command))
                reply = self._read()
                if isinstance(reply, ValkeyReplyError):
                    raise ValkeyUnavailable(f"{command[0]} refused: {reply}")
        except BaseException:
            self.close()
            sock.close()
            raise

    def _line(self) -> bytes:
        line = self._file.readline()
        if not line.endswith(b"\r\n"):
            raise ValkeyUnavailable("connection closed")
        return line[:-2]

    def _read(self) -> Union[Reply, ValkeyReplyError]:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return ValkeyReplyError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._file.read(size + 2)
            if len(data) != size + 2:
                raise ValkeyUnavailable("connection closed")
            return data[:-2].decode()
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            items = [self._read() for _ in range(count)]
            return items
        raise ValkeyUnavailable(f"not a RESP reply: {line[:20]!r}")


class Script:
    """A Lua script run by its SHA-1 (EVALSHA), sent whole (EVAL) only when the server does not know it yet."""

    def __init__(self, connection: Connection, source: str) -> None:
        self._connection = connection
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()  # the script's name, not a MAC

    def __call__(self, keys: Sequence[Arg], args: Sequence[Arg]) -> Reply:
        try:
            return self._connection.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except ValkeyReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return self._connection.execute("EVAL", self.source, len(keys), *keys, *args)
