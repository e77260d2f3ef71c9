"""Valkey/Redis cache that never makes a request slow or failed.

Short socket timeouts, no client retries (redis 8 retries 10 times by default) and a circuit breaker: after
a few failures the cache is skipped for a cool-down, so a dead or hung cache costs ~nothing per request.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bazaar.observability import logger

T = TypeVar("T")
SOCKET_TIMEOUT_S = 0.2

# Compare-and-set on the "<version>|" prefix: an older version never overwrites a newer one.
_SET_IF_NEWER = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)|'))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class CircuitBreaker:
    """Closed -> open after ``failure_threshold`` consecutive failures; after ``cool_down_s`` it is half-open:
    the next call is a probe, whose success closes it and whose failure re-opens it at once (a hung cache then
    costs one timeout per cool-down per container, not ``failure_threshold`` of them)."""

    def __init__(self, failure_threshold: int = 3, cool_down_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.cool_down_s = cool_down_s
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._tripped = False  # opened since the last success: the next failure after the cool-down re-opens
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._tripped = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._tripped or self._failures >= self.failure_threshold:
                self._open_until = self._clock() + self.cool_down_s
                self._failures = 0
                self._tripped = True


class ValkeyCache:
    def __init__(self, client: "redis.Redis", breaker: Optional[CircuitBreaker] = None) -> None:
        self._client = client
        self._breaker = breaker or CircuitBreaker()
        self._set_if_newer = client.register_script(_SET_IF_NEWER)

    @classmethod
    def from_url(cls, url: str) -> "ValkeyCache":
        client = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
            health_check_interval=0,
        )
        return cls(client)

    def _call(self, op: Callable[[], T], default: T) -> T:
        if self._breaker.is_open:
            return default
        try:
            result = op()
        except redis.RedisError as exc:
            self._breaker.failure()
            logger.warning("cache unavailable, continuing without it", extra={"error": type(exc).__name__})
            return default
        self._breaker.success()
        return result

    def get(self, key: str) -> Optional[str]:
        return self._call(lambda: self._client.get(key), None)

    def set_if_absent(self, key: str, value: str, ttl_s: int) -> None:
        self._call(lambda: self._client.set(key, value, ex=ttl_s, nx=True), None)

    def set_if_newer(self, key: str, version: int, value: str, ttl_s: int) -> bool:
        return self._call(lambda: self._set_if_newer(keys=[key], args=[version, value, ttl_s]) is not None, False)

    def delete(self, *keys: str) -> bool:
        return self._call(lambda: self._client.delete(*keys) >= 0, False)

    def incr(self, key: str) -> Optional[int]:
        return self._call(lambda: int(self._client.incr(key)), None)
