"""Contract §6: reads go through the cache; after a PATCH or DELETE nobody reads the old version; with the cache
down (refused or hung) every request still succeeds and nothing hangs."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Callable, ContextManager, Iterator

import pytest
import redis

from bazaar import wiring
from bazaar.adapters.cache import product_key
from tests.integration.api import ADMIN, Api

# A hang detector, not a benchmark: 20 requests with a hung cache and no circuit breaker take ~8 s
# (two 0.2 s socket timeouts each); with the breaker they take well under a second.
HANG_BOUND_S = 5.0


def test_get_patch_get_never_shows_the_old_version(api: Api) -> None:
    pid = api.new_product()["product_id"]
    assert api.get(pid).headers["x-cache"] == "MISS"
    assert api.get(pid).headers["x-cache"] == "HIT"  # v1 is now cached
    for version in (2, 3, 4):
        assert api.patch(pid, {"stock": version}).json["version"] == version
        got = api.get(pid)
        assert got.status == 200
        assert (got.json["version"], got.json["stock"]) == (version, version)
        assert got.headers["etag"] == f'"{pid}.{version}.{version}"'
    assert api.delete(pid, who=ADMIN).status == 204
    for _ in range(3):
        api.get(pid).assert_problem(404)


def test_lists_never_show_the_old_version(api: Api) -> None:
    pid = api.new_product(name="Before")["product_id"]
    assert api.list().json["items"][0]["name"] == "Before"
    assert api.list().headers["x-cache"] == "HIT"
    api.patch(pid, {"name": "After"})
    after = api.list()
    assert [(i["name"], i["version"]) for i in after.json["items"]] == [("After", 2)]
    api.list()  # cached again
    second = api.new_product(name="Second")["product_id"]
    assert {i["product_id"] for i in api.list().json["items"]} == {pid, second}
    api.delete(pid)
    assert [i["product_id"] for i in api.list().json["items"]] == [second]
    assert [i["product_id"] for i in api.list("seller_id=seller-1").json["items"]] == [second]


def test_cached_entry_is_versioned_and_expires(api: Api, env: dict[str, str]) -> None:
    pid = api.new_product()["product_id"]
    api.get(pid)
    r = redis.Redis.from_url(env["CACHE_URL"], decode_responses=True)
    assert r.get(product_key(pid)).startswith("1|")
    assert 0 < r.ttl(product_key(pid)) <= 60
    api.delete(pid)
    assert r.get(product_key(pid)) == "2|"  # tombstone one past the deleted version
    assert 0 < r.ttl(product_key(pid)) <= 60


def test_garbage_in_the_cache_is_not_served(api: Api, env: dict[str, str]) -> None:
    product = api.new_product()
    pid = product["product_id"]
    r = redis.Redis.from_url(env["CACHE_URL"], decode_responses=True)
    for garbage in ("garbage", "1|{not json", '9|{"product_id": 1}'):
        r.set(product_key(pid), garbage)
        got = api.get(pid)
        assert got.status == 200 and got.json == product, garbage


# --- cache down -------------------------------------------------------------------------------------------------

@pytest.fixture
def dead_cache(env: dict[str, str], dead_cache_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CACHE_URL", dead_cache_url)
    wiring.reset()
    return dead_cache_url


def test_every_route_works_with_the_cache_refusing_connections(api: Api, dead_cache: str) -> None:
    created = api.create()
    assert created.status == 201
    pid = created.json["product_id"]
    got = api.get(pid)
    assert (got.status, got.headers["x-cache"]) == (200, "MISS")
    assert api.get(pid, headers={"If-None-Match": got.headers["etag"]}).status == 304
    listed = api.list()
    assert (listed.status, listed.headers["x-cache"]) == (200, "MISS")
    assert [i["product_id"] for i in listed.json["items"]] == [pid]
    assert api.patch(pid, {"stock": 1}).json["version"] == 2
    assert api.get(pid).json["version"] == 2
    assert api.delete(pid).status == 204
    api.get(pid).assert_problem(404)

    assert wiring.cache()._breaker.is_open  # the failures opened the breaker
    started = time.monotonic()
    for _ in range(20):
        assert api.get(api.new_product()["product_id"]).headers["x-cache"] == "MISS"
    assert time.monotonic() - started < 2 * HANG_BOUND_S


@pytest.fixture
def hung_cache(valkey_server, env: dict[str, str]) -> Callable[[], ContextManager[None]]:
    """``with hung_cache():`` the real Valkey is stopped (SIGSTOP): the kernel still accepts connections, but
    nothing ever answers. It is resumed on leaving the block, whatever happens."""
    @contextlib.contextmanager
    def stopped() -> Iterator[None]:
        pid = valkey_server._process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    return stopped


def test_requests_succeed_and_do_not_hang_with_a_hung_cache(api: Api, hung_cache) -> None:
    pid = api.new_product()["product_id"]
    assert api.get(pid).headers["x-cache"] == "MISS"
    assert api.get(pid).headers["x-cache"] == "HIT"
    with hung_cache():
        started = time.monotonic()
        for _ in range(20):
            got = api.get(pid)
            assert got.status == 200 and got.headers["x-cache"] == "MISS"
        elapsed = time.monotonic() - started
        assert wiring.cache()._breaker.is_open
        assert elapsed < HANG_BOUND_S, f"20 GETs took {elapsed:.1f}s with a hung cache"
        listed = api.list()
        assert listed.status == 200 and listed.headers["x-cache"] == "MISS"
        created = api.new_product()
        assert created["version"] == 1
        assert api.patch(created["product_id"], {"stock": 5}).json["version"] == 2
        assert api.delete(created["product_id"]).status == 204
