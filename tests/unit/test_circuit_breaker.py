"""The cache's circuit breaker (bazaar.adapters.cache.CircuitBreaker) and fail-open wrapper, with a fake clock."""

from __future__ import annotations

import logging

import pytest

from bazaar.adapters.cache import CircuitBreaker, ValkeyCache
from bazaar.adapters.valkey import ValkeyUnavailable
from bazaar.domain.catalog import Product
from bazaar.domain.ports import UNAVAILABLE, Claim

PRODUCT = Product("k", "s", "n", "", 1, "EUR", 0, 1, "t", "t")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_failures_and_closes_after_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, cool_down_s=10, clock=clock)
    breaker.failure()
    breaker.failure()
    assert not breaker.is_open
    breaker.failure()
    assert breaker.is_open
    clock.now += 9.99
    assert breaker.is_open
    clock.now += 0.01
    assert not breaker.is_open


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down_s=10, clock=Clock())
    for _ in range(5):
        breaker.failure()
        breaker.failure()
        breaker.success()
    assert not breaker.is_open


def test_reopens_after_cool_down_when_failures_continue() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cool_down_s=5, clock=clock)
    breaker.failure()
    breaker.failure()
    clock.now += 5
    assert not breaker.is_open  # half-open: one probe goes through
    breaker.failure()
    assert breaker.is_open  # the probe failed: open again at once, no second timeout paid


def test_a_successful_probe_closes_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cool_down_s=5, clock=clock)
    breaker.failure()
    breaker.failure()
    clock.now += 5
    breaker.success()
    breaker.failure()
    assert not breaker.is_open  # closed again: back to counting up to the threshold
    breaker.failure()
    assert breaker.is_open
    clock.now += 4
    assert breaker.is_open


class BrokenClient:
    """A Valkey connection whose every round trip fails like an unreachable server; counts the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    def execute(self, *args):
        self.calls += 1
        raise ValkeyUnavailable("ConnectionRefusedError: [Errno 111] Connection refused")

    def pipeline(self, commands):
        self.calls += 1
        raise ValkeyUnavailable("TimeoutError: timed out")


def test_cache_fails_open_and_stops_calling_once_open() -> None:
    clock = Clock()
    client = BrokenClient()
    breaker = CircuitBreaker(failure_threshold=3, cool_down_s=10, clock=clock)
    cache = ValkeyCache(client, breaker)  # type: ignore[arg-type]
    assert cache.lookup("k") is UNAVAILABLE
    assert cache.store(PRODUCT) is False
    assert cache.catalog_changed() is False
    assert client.calls == 3
    # open: no more calls, same fail-open answers
    assert cache.lookup("k") is UNAVAILABLE
    assert cache.fill(PRODUCT) is False
    assert cache.bury("k", 1) is False
    assert cache.evict("k", 2) is False and cache.evict("k", None) is False
    assert cache.claim_fill("k") is Claim.UNAVAILABLE
    assert cache.listing_state() is None
    cache.release_fill("k")
    assert client.calls == 3
    clock.now += 10
    assert cache.lookup("k") is UNAVAILABLE
    assert client.calls == 4


def test_transitions_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cool_down_s=5, clock=clock)
    with caplog.at_level(logging.INFO, logger="bazaar"):
        for _ in range(4):  # opens on the 2nd; the 3rd/4th (after cool-downs) re-open silently
            breaker.failure()
            clock.now += 5
        clock.now += 1.5
        breaker.success()
        breaker.success()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["cache circuit opened: reading without the cache",
                        "cache circuit closed: the cache answers again"]
    assert caplog.records[1].open_s == 16.5
