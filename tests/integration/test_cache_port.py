"""The ``ProductCache`` contract, run against the Valkey adapter (a real Valkey) and the unit tests' fake, so
the fake the service tests rely on behaves like the real thing."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import pytest
import redis

from bazaar import settings
from bazaar.adapters.cache import ValkeyCache, encode_product, page_key, product_key
from bazaar.domain.catalog import Listing, ListPage, Product
from bazaar.domain.ids import new_id
from bazaar.domain.ports import MISS, UNAVAILABLE, Cached, Claim, Tombstone
from tests.unit.fakes import FakeCache

V1 = Product(new_id(), "seller-1", "Lamp", "", 100, "EUR", 3, 1, "2026-01-01T00:00:00.000Z",
             "2026-01-01T00:00:00.000Z")
V2 = replace(V1, name="Lamp II", version=2)
V3 = replace(V1, name="Lamp III", version=3)
FIRST_PAGE = Listing(None, 20, None)


@pytest.fixture(params=["valkey", "fake"])
def cache(request: pytest.FixtureRequest) -> Iterator[object]:
    if request.param == "fake":
        yield FakeCache()
        return
    url = request.getfixturevalue("valkey_url")
    yield ValkeyCache.from_url(url)


def test_fill_then_hit_and_only_newer_versions_replace(cache) -> None:
    assert cache.lookup(V1.product_id) is MISS
    assert cache.fill(V2)
    assert cache.lookup(V1.product_id) == Cached(V2)
    assert cache.fill(V1) and cache.store(V1)  # reachable, but an older version never replaces a newer one
    assert cache.lookup(V1.product_id) == Cached(V2)
    assert cache.store(V3)
    assert cache.lookup(V1.product_id) == Cached(V3)


def test_eviction_by_version(cache) -> None:
    cache.fill(V1)
    assert cache.evict(V1.product_id, 1) and cache.lookup(V1.product_id) == Cached(V1)  # v1 outranks mark 1
    assert cache.evict(V1.product_id, 2) and cache.lookup(V1.product_id) is MISS
    assert cache.fill(V1) and cache.lookup(V1.product_id) is MISS  # a reader that read v1 cannot put it back
    assert cache.fill(V2) and cache.lookup(V1.product_id) == Cached(V2)
    assert cache.evict(V1.product_id, 2) and cache.lookup(V1.product_id) == Cached(V2)  # a late event: no-op
    assert cache.evict(V1.product_id, None) and cache.lookup(V1.product_id) is MISS


def test_refresh_replaces_the_same_version_but_nothing_newer(cache) -> None:
    sold = replace(V2, stock=V2.stock - 1)  # an order moved the stock; the version stays
    assert cache.refresh(sold) and cache.lookup(V1.product_id) == Cached(sold)  # no entry: it fills
    cache.fill(V2)
    assert cache.lookup(V1.product_id) == Cached(sold)  # a fill of the same version does not replace it
    assert cache.refresh(V2) and cache.lookup(V1.product_id) == Cached(V2)  # a refresh does
    assert cache.store(V3) and cache.refresh(V2) and cache.lookup(V1.product_id) == Cached(V3)
    assert cache.bury(V1.product_id, 3) and cache.refresh(V3)
    assert cache.lookup(V1.product_id) == Tombstone(4)


def test_a_tombstone_outranks_every_version_it_buried(cache) -> None:
    cache.fill(V2)
    assert cache.bury(V1.product_id, 2)
    assert cache.lookup(V1.product_id) == Tombstone(3)
    for late in (lambda: cache.fill(V2), lambda: cache.store(V2), lambda: cache.evict(V1.product_id, 2),
                 lambda: cache.bury(V1.product_id, 1)):
        assert late()
        assert cache.lookup(V1.product_id) == Tombstone(3)


def test_one_fill_claim_at_a_time(cache) -> None:
    assert cache.await_fill(V1.product_id) == (MISS, False)
    assert cache.claim_fill(V1.product_id) is Claim.CLAIMED
    assert cache.claim_fill(V1.product_id) is Claim.TAKEN
    assert cache.await_fill(V1.product_id) == (MISS, True)  # a waiter keeps waiting
    cache.fill(V1)
    assert cache.await_fill(V1.product_id) == (Cached(V1), True)
    cache.release_fill(V1.product_id)
    assert cache.await_fill(V1.product_id) == (Cached(V1), False)
    assert cache.claim_fill(V1.product_id) is Claim.CLAIMED


def test_list_pages_belong_to_a_generation(cache) -> None:
    state = cache.listing_state()
    page = ListPage((V1,), "cursor-1")
    assert cache.page(state, FIRST_PAGE) is MISS
    cache.keep_page(state, FIRST_PAGE, page)
    assert cache.page(state, FIRST_PAGE) == page
    assert cache.page(state, Listing("seller-1", 20, None)) is MISS
    assert cache.catalog_changed()
    changed = cache.listing_state()
    assert changed.generation == state.generation + 1 and changed.settling_ms > 0
    assert cache.page(changed, FIRST_PAGE) is MISS


def test_a_page_kept_while_a_change_settles_expires_with_the_window(valkey_url: str) -> None:
    cache = ValkeyCache.from_url(valkey_url)
    r = redis.Redis.from_url(valkey_url)
    assert cache.listing_state().settling_ms == 0
    cache.keep_page(cache.listing_state(), FIRST_PAGE, ListPage((), None))
    assert settings.LIST_CACHE_TTL_S * 1000 - 1000 < r.pttl(page_key(0, FIRST_PAGE)) <= settings.LIST_CACHE_TTL_S * 1000
    cache.catalog_changed()
    state = cache.listing_state()
    assert 0 < state.settling_ms <= settings.LIST_SETTLE_MS
    cache.keep_page(state, FIRST_PAGE, ListPage((), None))
    assert 0 < r.pttl(page_key(state.generation, FIRST_PAGE)) <= settings.LIST_SETTLE_MS


def test_entries_this_code_did_not_write_are_misses_and_dropped(valkey_url: str) -> None:
    cache = ValkeyCache.from_url(valkey_url)
    r = redis.Redis.from_url(valkey_url, decode_responses=True)
    key = product_key(V1.product_id)
    mislabelled = "2" + encode_product(V1)[1:]  # prefix v2, body v1
    for garbage in ("garbage", "1|{not json", '9|{"product_id": 1}', "|[1,2]", mislabelled):
        r.set(key, garbage)
        assert cache.lookup(V1.product_id) is MISS, garbage
        assert r.get(key) is None, garbage
        assert cache.fill(V1) and cache.lookup(V1.product_id) == Cached(V1)
        r.delete(key)


def test_an_unreachable_cache_answers_at_once_and_fails_open(dead_cache_url: str) -> None:
    cache = ValkeyCache.from_url(dead_cache_url)
    assert cache.lookup(V1.product_id) is UNAVAILABLE
    assert cache.fill(V1) is False and cache.store(V1) is False
    assert cache.bury(V1.product_id, 1) is False and cache.evict(V1.product_id, 2) is False
    assert cache.claim_fill(V1.product_id) is Claim.UNAVAILABLE
    assert cache.await_fill(V1.product_id) == (UNAVAILABLE, False)
    assert cache.catalog_changed() is False and cache.listing_state() is None
    state = FakeCache().listing_state()
    assert cache.page(state, FIRST_PAGE) is UNAVAILABLE
    cache.keep_page(state, FIRST_PAGE, ListPage((), None))
    cache.release_fill(V1.product_id)
