"""Catalog use cases (bazaar.services.catalog) over in-memory ports: read-through caching, cache coherence under
races and faults (contract §6) and optimistic concurrency on the version."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import pytest

from bazaar.domain.catalog import Listing, Product
from bazaar.domain.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from bazaar.domain.identity import Actor
from bazaar.domain.ids import new_id
from bazaar.domain.ports import Cached
from bazaar.services import catalog as svc
from tests.unit.fakes import FakeCache, FakeCursors, FakeProductRepository

SELLER = Actor("seller-1", frozenset({"seller"}))
OTHER = Actor("seller-2", frozenset({"seller"}))
ADMIN = Actor("admin-1", frozenset({"admin"}))
FIELDS = {"name": "Lamp", "price_cents": 4999, "currency": "EUR", "stock": 3}


@pytest.fixture
def repo() -> FakeProductRepository:
    return FakeProductRepository()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def product(repo: FakeProductRepository, cache: FakeCache) -> Product:
    return svc.create_product(repo, cache, SELLER, FIELDS)


@pytest.fixture(autouse=True)
def quick_fill_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svc, "FILL_WAIT_S", (0.0,) * 4)  # same number of polls, no sleeping


def cached_version(cache: FakeCache, p: Product) -> Optional[int]:
    return cache.version_of(p.product_id)


# --- read-through -----------------------------------------------------------------------------------------------

def test_get_is_a_miss_then_a_hit_served_without_the_table(repo, cache, product) -> None:
    first, hit1 = svc.get_product(repo, cache, product.product_id)
    gets = repo.gets
    second, hit2 = svc.get_product(repo, cache, product.product_id)
    assert (hit1, hit2) == (False, True)
    assert first == second == product
    assert repo.gets == gets  # the hit did not read the table
    assert cached_version(cache, product) == 1
    assert cache.expires[product.product_id] > cache.clock_ms


def test_unknown_and_malformed_ids_are_not_found(repo, cache) -> None:
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, new_id())
    assert cache.entries == {}  # a miss on an absent product caches nothing
    gets = repo.gets
    for bad in ("../x", "x" * 3000, "ünï", ""):
        with pytest.raises(NotFound):
            svc.get_product(repo, cache, bad)
    assert repo.gets == gets  # malformed ids never reach the table


def test_an_entry_evicted_by_version_is_a_miss_then_refilled(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)
    cache.evict(product.product_id, 1)  # the eviction mark of v1 does not outrank v1 itself
    assert svc.get_product(repo, cache, product.product_id) == (product, True)
    cache.evict(product.product_id, 2)
    gets = repo.gets
    assert svc.get_product(repo, cache, product.product_id) == (product, False)
    assert repo.gets == gets + 1
    assert svc.get_product(repo, cache, product.product_id) == (product, False)  # v1 may not fill over mark 2


def test_cache_down_everything_still_works(repo, cache) -> None:
    cache.down = True
    p = svc.create_product(repo, cache, SELLER, FIELDS)
    assert svc.get_product(repo, cache, p.product_id) == (p, False)
    assert svc.get_product(repo, cache, p.product_id) == (p, False)
    assert svc.update_product(repo, cache, SELLER, p.product_id, {"stock": 1}).version == 2
    page, hit = svc.list_products(repo, cache, Listing(None, 10, None), FakeCursors())
    assert not hit and [i.version for i in page.items] == [2]
    svc.delete_product(repo, cache, SELLER, p.product_id)
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, p.product_id)
    assert cache.entries == {} and cache.pages == {} and cache.generation == 0


def test_a_cache_that_fails_is_not_called_again_in_the_same_request(repo, cache, product) -> None:
    cache.entries.clear()
    cache.down = True
    cache.calls.clear()
    svc.get_product(repo, cache, product.product_id)
    svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 1})
    svc.delete_product(repo, cache, SELLER, product.product_id)
    svc.list_products(repo, cache, Listing(None, 10, None), FakeCursors())
    # one call per request: a timeout (0.2 s) is paid at most once, never once per cache operation
    assert cache.calls == ["lookup", "store", "bury", "listing_state"]


# --- coherence after writes -------------------------------------------------------------------------------------

def test_update_replaces_the_cached_version(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)  # cached v1
    svc.update_product(repo, cache, SELLER, product.product_id, {"name": "New"})
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert hit and (got.version, got.name) == (2, "New")


def test_delete_leaves_a_tombstone(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)
    svc.delete_product(repo, cache, SELLER, product.product_id)
    assert cache.entries[product.product_id][:2] == (2, FakeCache.TOMBSTONE)  # one past the deleted version
    gets = repo.gets
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)
    assert repo.gets == gets  # answered from the tombstone


def _slow_reader(repo: FakeProductRepository, meanwhile) -> None:
    """The next read sees the stored product as it is now, but ``meanwhile`` runs before that read returns."""
    def hook(pid: str) -> Product:
        repo.on_get = None
        seen = repo.items[pid]
        meanwhile(pid)
        return seen

    repo.on_get = hook


def test_reader_that_loaded_before_a_delete_cannot_re_add_it(repo, cache, product) -> None:
    _slow_reader(repo, lambda pid: svc.delete_product(repo, cache, SELLER, pid))
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert (got.version, hit) == (1, False)  # that one response was read before the delete
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)  # but the reader did not put v1 back


def test_reader_that_loaded_before_an_update_cannot_put_the_old_version_back(repo, cache, product) -> None:
    _slow_reader(repo, lambda pid: svc.update_product(repo, cache, SELLER, pid, {"stock": 99}))
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert (got.version, hit) == (1, False)
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert hit and (got.version, got.stock) == (2, 99)


def test_a_late_store_cannot_overwrite_a_newer_cached_version(repo, cache, product) -> None:
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 5})
    v3 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 6})
    assert cache.store(v2)  # the v2 writer's cache update arrives late: reachable, but v3 stays
    assert svc.get_product(repo, cache, product.product_id) == (v3, True)
    svc.delete_product(repo, cache, SELLER, product.product_id)
    assert cache.store(v3) and cache.fill(v3)  # nor may any store or fill resurrect a deleted product
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)


def _updated(product: Product) -> dict[str, Any]:
    return {"product": product.to_dict(), "changed": ["stock"], "previous_version": product.version - 1}


def test_the_backstop_never_writes_the_product_body_of_an_event(repo, cache, product) -> None:
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 5})
    cache.entries.clear()  # v2's entry expired
    forged = replace(v2, name="Only in the event")
    assert svc.apply_product_event(cache, "ProductUpdated", _updated(forged), v2.product_id)
    assert cache.entries[v2.product_id] == (2, FakeCache.EVICTED, None)
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert (got, hit) == (v2, False)  # read from the table, not from the event


def test_late_or_redriven_old_events_cannot_bring_back_an_old_version(repo, cache, product) -> None:
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 5})
    v3 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 6})
    cache.entries.clear()  # every entry expired: nothing newer left in the cache to compare with
    for old in (product, v2, v2):  # late, retried, redriven
        data = _updated(old) if old.version > 1 else {"product_id": old.product_id}
        kind = "ProductUpdated" if old.version > 1 else "ProductCreated"
        assert svc.apply_product_event(cache, kind, data, old.product_id)
        assert svc.get_product(repo, cache, product.product_id)[0] == v3
    assert svc.get_product(repo, cache, product.product_id) == (v3, True)


def test_late_old_events_cannot_bring_back_a_deleted_product(repo, cache, product) -> None:
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 5})
    svc.delete_product(repo, cache, SELLER, product.product_id)
    cache.entries.clear()  # the tombstone expired
    assert svc.apply_product_event(cache, "ProductUpdated", _updated(v2), v2.product_id)
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)
    assert product.product_id not in repo.items


def test_a_reader_that_loaded_before_the_backstop_cannot_fill_the_old_version(repo, cache, product) -> None:
    """The writer missed the cache; a slow reader loaded v1 before the write and fills after the backstop."""
    cache.down = True
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 5})
    cache.down = False
    assert svc.apply_product_event(cache, "ProductUpdated", _updated(v2), v2.product_id)
    assert cache.fill(product)  # v1, read before the write
    assert svc.get_product(repo, cache, product.product_id) == (v2, False)
    assert svc.get_product(repo, cache, product.product_id) == (v2, True)


def test_update_event_brings_a_stale_cache_forward(repo, cache, product) -> None:
    """The consumer's backstop: the write path could not reach the cache, the event evicts the old version."""
    svc.get_product(repo, cache, product.product_id)  # v1 cached
    cache.down = True
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 0})
    assert svc.apply_product_event(cache, "ProductUpdated", _updated(v2), v2.product_id) is False
    cache.down = False
    assert svc.get_product(repo, cache, product.product_id)[0].version == 1  # stale until the event is applied
    assert svc.apply_product_event(cache, "ProductUpdated", _updated(v2), v2.product_id) is True
    assert svc.get_product(repo, cache, product.product_id) == (v2, False)
    assert svc.get_product(repo, cache, product.product_id) == (v2, True)


def test_delete_event_tombstones_even_if_the_write_path_missed_it(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)
    cache.down = True
    svc.delete_product(repo, cache, SELLER, product.product_id)
    cache.down = False
    data: dict[str, Any] = {"product_id": product.product_id, "seller_id": "seller-1", "version": 1}
    assert svc.apply_product_event(cache, "ProductDeleted", data, product.product_id) is True
    gets = repo.gets
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)
    assert repo.gets == gets  # answered by the tombstone


def _order_took(repo: FakeProductRepository, p: Product, units: int) -> Product:
    """What an order's reservation does to the table: stock moves, the version does not."""
    repo.items[p.product_id] = replace(repo.items[p.product_id], stock=repo.items[p.product_id].stock - units)
    return repo.items[p.product_id]


def test_refresh_stock_puts_the_tables_stock_in_the_cached_entry_of_the_same_version(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)  # cached with the old stock
    now = _order_took(repo, product, 2)
    generation = cache.generation
    assert svc.refresh_stock(repo, cache, [product.product_id]) is True
    read, hit = svc.get_product(repo, cache, product.product_id)
    assert hit and read.stock == now.stock and read.version == product.version
    assert cache.generation == generation + 1  # list pages show stock too: outdated


def test_refresh_stock_never_brings_back_an_old_version_or_a_deleted_product(repo, cache, product) -> None:
    stale_read = repo.items[product.product_id]  # the consumer read the table before a seller's edit landed
    svc.update_product(repo, cache, SELLER, product.product_id, {"name": "New"})
    repo.on_get = lambda _: stale_read
    assert svc.refresh_stock(repo, cache, [product.product_id]) is True
    repo.on_get = None
    assert cached_version(cache, product) == 2
    svc.delete_product(repo, cache, SELLER, product.product_id)
    repo.on_get = lambda _: stale_read
    assert svc.refresh_stock(repo, cache, [product.product_id]) is True
    repo.on_get = None
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)  # the tombstone stayed


def test_refresh_stock_skips_products_gone_from_the_table_and_reports_an_unreachable_cache(repo, cache,
                                                                                          product) -> None:
    assert svc.refresh_stock(repo, cache, ["no-such-product", "../bad id"]) is True
    cache.down = True
    assert svc.refresh_stock(repo, cache, [product.product_id]) is False  # the consumer retries


# --- single flight ----------------------------------------------------------------------------------------------

def test_a_reader_that_finds_the_fill_claimed_waits_for_it_instead_of_reading(repo, cache, product) -> None:
    cache.entries.clear()
    assert cache.claim_fill(product.product_id).name == "CLAIMED"  # another reader is loading it
    polls = []

    def other_reader_fills_on_the_third_poll(pid: str) -> None:
        polls.append(pid)
        if len(polls) == 3:
            cache.fill(product)

    cache.on_lookup = other_reader_fills_on_the_third_poll
    gets = repo.gets
    assert svc.get_product(repo, cache, product.product_id) == (product, True)
    assert repo.gets == gets and len(polls) == 3


def test_a_waiting_reader_reads_the_table_itself_when_the_filler_is_too_slow(repo, cache, product) -> None:
    cache.entries.clear()
    cache.claim_fill(product.product_id)  # a reader that never fills (e.g. its container died)
    gets = repo.gets
    assert svc.get_product(repo, cache, product.product_id) == (product, False)
    assert repo.gets == gets + 1
    assert cache.calls.count("await_fill") == len(svc.FILL_WAIT_S)  # waited the whole budget, then read
    assert svc.get_product(repo, cache, product.product_id) == (product, True)  # and it filled


def test_a_waiting_reader_stops_waiting_when_the_claim_is_given_up(repo, cache, product) -> None:
    cache.entries.clear()
    cache.claim_fill(product.product_id)
    polls = []

    def filler_gives_up_before_the_first_poll(pid: str) -> None:
        polls.append(pid)
        if len(polls) == 2:  # the reader's own lookup, then its first poll
            cache.release_fill(pid)  # e.g. the filler's fill failed: no entry is coming

    cache.on_lookup = filler_gives_up_before_the_first_poll
    cache.calls.clear()
    gets = repo.gets
    assert svc.get_product(repo, cache, product.product_id) == (product, False)
    assert cache.calls.count("await_fill") == 1 and repo.gets == gets + 1  # stopped waiting at once, read itself


def test_a_fill_that_fails_leaves_the_claim_to_expire(repo, cache, product) -> None:
    cache.entries.clear()
    cache.calls.clear()
    claim = cache.claim_fill

    def claim_then_fail(pid: str):
        got = claim(pid)
        cache.down = True  # the cache stops answering right after the claim
        return got

    cache.claim_fill = claim_then_fail  # type: ignore[method-assign]
    assert svc.get_product(repo, cache, product.product_id) == (product, False)
    assert cache.calls == ["lookup", "claim_fill", "fill"]  # no release: one timeout per request at most


def test_the_reader_that_loads_releases_its_claim_even_when_the_product_is_gone(repo, cache) -> None:
    missing = new_id()
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, missing)
    assert cache.claims == set()


def test_sequential_misses_on_a_hot_product_read_the_table_once(repo, cache, product) -> None:
    cache.entries.clear()
    gets = repo.gets
    results = [svc.get_product(repo, cache, product.product_id) for _ in range(100)]
    assert repo.gets == gets + 1
    assert [hit for _, hit in results].count(False) == 1


def test_created_event_only_bumps_the_list_generation(cache) -> None:
    assert svc.apply_product_event(cache, "ProductCreated", {"product_id": "x"}, "x") is True
    assert (cache.entries, cache.generation) == ({}, 1)
    cache.down = True
    assert svc.apply_product_event(cache, "ProductCreated", {"product_id": "x"}, "x") is False


# --- lists ------------------------------------------------------------------------------------------------------

def _list(repo, cache, **kw) -> tuple[dict, bool]:
    page, hit = svc.list_products(repo, cache, Listing(kw.get("seller_id"), kw.get("limit", 10), None),
                                  FakeCursors())
    return page.to_dict(), hit


@pytest.mark.parametrize("write", ["create", "update", "delete"])
def test_every_write_bumps_the_list_generation(repo, cache, product, write: str) -> None:
    assert _list(repo, cache)[1] is False
    assert _list(repo, cache)[1] is True
    gen = cache.generation
    if write == "create":
        svc.create_product(repo, cache, SELLER, dict(FIELDS, name="Second"))
    elif write == "update":
        svc.update_product(repo, cache, ADMIN, product.product_id, {"name": "Renamed"})
    else:
        svc.delete_product(repo, cache, SELLER, product.product_id)
    assert cache.generation == gen + 1
    body, hit = _list(repo, cache)
    assert hit is False
    names = sorted(i["name"] for i in body["items"])  # same-millisecond creations have no defined order
    assert names == {"create": ["Lamp", "Second"], "update": ["Renamed"], "delete": []}[write]


def test_list_pages_are_cached_per_seller_limit_and_cursor(repo, cache, product) -> None:
    _list(repo, cache)
    assert _list(repo, cache, seller_id="seller-1")[1] is False
    assert _list(repo, cache, limit=5)[1] is False
    assert _list(repo, cache, seller_id="seller-2") == ({"items": [], "next_cursor": None}, False)
    assert repo.lists == 4


def test_list_positions_become_cursors_only_when_more_exist(repo, cache) -> None:
    for i in range(3):
        p = Product(new_id(), "seller-1", f"p{i}", "", 1, "EUR", 0, 1, f"2026-01-0{i + 1}T00:00:00.000Z", "x")
        repo.items[p.product_id] = p
    cursors = FakeCursors()
    page1, _ = svc.list_products(repo, cache, Listing(None, 2, None), cursors)
    assert [i.name for i in page1.items] == ["p2", "p1"]
    assert cursors.decode(page1.next_cursor) == {"created_at": page1.items[-1].created_at,
                                                 "product_id": page1.items[-1].product_id}
    page2, _ = svc.list_products(repo, cache, Listing(None, 2, page1.next_cursor), cursors)
    assert [i.name for i in page2.items] == ["p0"] and page2.next_cursor is None
    assert cursors.encoded == 1


def test_a_bad_cursor_is_refused_before_the_cache_or_the_table(repo, cache, product) -> None:
    _list(repo, cache)
    cache.calls.clear()
    with pytest.raises(ValueError):
        svc.list_products(repo, cache, Listing(None, 10, "[1]"), FakeCursors())
    assert cache.calls == [] and repo.lists == 1


def test_a_cached_page_needs_no_cursor_signing(repo, cache) -> None:
    for i in range(3):
        svc.create_product(repo, cache, SELLER, dict(FIELDS, name=f"p{i}"))
    cache.clock_ms += 60_000  # every change has settled
    cursors = FakeCursors()
    first, hit = svc.list_products(repo, cache, Listing(None, 2, None), cursors)
    again, hit_again = svc.list_products(repo, cache, Listing(None, 2, None), cursors)
    assert (hit, hit_again) == (False, True) and again == first
    assert cursors.encoded == 1  # the cached page carries its cursor


class LaggingIndex(FakeProductRepository):
    """A GSI as DynamoDB has it: eventually consistent. Queries see the products as they were ``lag_ms`` ago."""

    def __init__(self, cache: FakeCache, lag_ms: int) -> None:
        super().__init__()
        self.cache, self.lag_ms = cache, lag_ms
        self.history: list[tuple[int, dict[str, Product]]] = []

    def _record(self) -> None:
        self.history.append((self.cache.clock_ms, dict(self.items)))

    def add(self, product, event):  # type: ignore[override]
        super().add(product, event)
        self._record()

    def update(self, product, previous, event):  # type: ignore[override]
        super().update(product, previous, event)
        self._record()

    def list(self, seller_id, limit, start):  # type: ignore[override]
        visible = [items for at, items in self.history if at <= self.cache.clock_ms - self.lag_ms]
        now_items, self.items = self.items, (visible[-1] if visible else {})
        try:
            return super().list(seller_id, limit, start)
        finally:
            self.items = now_items


@pytest.mark.parametrize("lag_ms", [0, 300, 1500])
def test_a_page_read_while_a_change_settles_is_not_kept_beyond_the_window(lag_ms: int) -> None:
    """The index may miss a write for a moment; the page cached from it must not pin that for the whole TTL.
    Bound: a pre-write page is served at most LIST_SETTLE_MS after the write (when the lag is shorter)."""
    cache = FakeCache(settle_ms=2_000, list_ttl_ms=15_000)
    repo = LaggingIndex(cache, lag_ms)
    p = svc.create_product(repo, cache, SELLER, FIELDS)
    cache.clock_ms += 60_000
    svc.update_product(repo, cache, SELLER, p.product_id, {"name": "Renamed"})
    written_at = cache.clock_ms
    stale_until = None
    while cache.clock_ms < written_at + 20_000:
        page, _ = _list(repo, cache)
        if page["items"][0]["name"] != "Renamed":
            stale_until = cache.clock_ms
        cache.clock_ms += 50
    if lag_ms == 0:
        assert stale_until is None
    else:
        assert stale_until is not None and lag_ms <= stale_until - written_at < 2_000


def test_without_the_window_a_lagging_index_would_pin_the_old_page_for_the_whole_ttl() -> None:
    """The same run with no settling window: what the window prevents (keeps the test above honest)."""
    cache = FakeCache(settle_ms=0, list_ttl_ms=15_000)
    repo = LaggingIndex(cache, 300)
    p = svc.create_product(repo, cache, SELLER, FIELDS)
    cache.clock_ms += 60_000
    svc.update_product(repo, cache, SELLER, p.product_id, {"name": "Renamed"})
    _list(repo, cache)  # read at once: the index does not show the rename yet
    cache.clock_ms += 14_000
    assert _list(repo, cache)[0]["items"][0]["name"] == "Lamp"


# --- versioned writes -------------------------------------------------------------------------------------------

def test_create_writes_the_product_and_its_event(repo, cache) -> None:
    p = svc.create_product(repo, cache, SELLER, FIELDS)
    assert repo.items[p.product_id] == p
    assert [e.type for e in repo.events] == ["ProductCreated"]


def test_update_increments_the_version_by_one_and_records_one_event(repo, cache, product) -> None:
    updated = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 7}, if_match=product.etag)
    assert updated.version == 2 and repo.items[product.product_id] == updated
    assert [e.type for e in repo.events] == ["ProductCreated", "ProductUpdated"]


def test_update_retries_on_a_lost_race_and_merges_onto_the_latest_version(repo, cache, product) -> None:
    calls = []

    def other_writer_once(pid: str) -> None:
        if not calls:
            repo.concurrent_update(pid, name="Renamed by someone else")
        calls.append(pid)

    repo.on_replace = other_writer_once
    updated = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 42})
    assert repo.replace_calls == 2
    assert updated.version == 3
    assert (updated.name, updated.stock) == ("Renamed by someone else", 42)  # no lost update
    assert repo.items[product.product_id] == updated


def test_update_gives_up_with_conflict_under_sustained_contention(repo, cache, product) -> None:
    repo.on_replace = lambda pid: repo.concurrent_update(pid)
    with pytest.raises(Conflict):
        svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 1})
    assert repo.replace_calls == svc.WRITE_ATTEMPTS
    assert [e.type for e in repo.events] == ["ProductCreated"]  # nothing of ours was written


def test_if_match_race_is_412_not_a_retry(repo, cache, product) -> None:
    repo.on_replace = lambda pid: repo.concurrent_update(pid) if repo.items[pid].version == 1 else None
    with pytest.raises(PreconditionFailed):
        svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 1}, if_match=product.etag)
    assert repo.replace_calls == 1
    assert repo.items[product.product_id].stock == FIELDS["stock"]


def test_delete_retries_then_conflict_and_honours_if_match(repo, cache, product) -> None:
    original_remove = repo.remove
    attempts = []

    def racing_remove(p, event):
        attempts.append(p.version)
        if len(attempts) == 1:
            repo.concurrent_update(p.product_id)
        return original_remove(p, event)

    repo.remove = racing_remove  # type: ignore[method-assign]
    svc.delete_product(repo, cache, SELLER, product.product_id)
    assert attempts == [1, 2] and product.product_id not in repo.items

    p = svc.create_product(repo, cache, SELLER, FIELDS)
    with pytest.raises(PreconditionFailed):
        svc.delete_product(repo, cache, SELLER, p.product_id, if_match='"x.1"')
    def always_racing(prod, event):
        repo.concurrent_update(prod.product_id)
        return original_remove(prod, event)

    repo.remove = always_racing  # type: ignore[method-assign]
    with pytest.raises(Conflict):
        svc.delete_product(repo, cache, SELLER, p.product_id)
    assert p.product_id in repo.items


def test_write_permission_and_existence(repo, cache, product) -> None:
    with pytest.raises(Forbidden):
        svc.update_product(repo, cache, OTHER, product.product_id, {"stock": 1})
    with pytest.raises(Forbidden):
        svc.delete_product(repo, cache, OTHER, product.product_id)
    assert svc.update_product(repo, cache, ADMIN, product.product_id, {"stock": 1}).version == 2
    for missing in (new_id(), "../x", "x" * 3000):
        with pytest.raises(NotFound):
            svc.update_product(repo, cache, SELLER, missing, {"stock": 1})
        with pytest.raises(NotFound):
            svc.delete_product(repo, cache, SELLER, missing)
    assert repo.replace_calls == 1
