"""Catalog use cases (bazaar.services.catalog) over in-memory ports: read-through caching, cache coherence under
races (contract §6) and optimistic concurrency on the version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bazaar.domain.catalog import Product
from bazaar.domain.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from bazaar.domain.identity import Actor
from bazaar.domain.ids import new_id
from bazaar.services import catalog as svc
from tests.unit.fakes import FakeCache, FakeProductRepository

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


def key(p: Product | str) -> str:
    return svc.product_key(p if isinstance(p, str) else p.product_id)


# --- read-through -----------------------------------------------------------------------------------------------

def test_get_is_a_miss_then_a_hit_served_without_the_table(repo, cache, product) -> None:
    first, hit1 = svc.get_product(repo, cache, product.product_id)
    gets = repo.gets
    second, hit2 = svc.get_product(repo, cache, product.product_id)
    assert (hit1, hit2) == (False, True)
    assert first == second == product
    assert repo.gets == gets  # the hit did not read the table
    assert cache.version_of(key(product)) == 1
    assert cache.ttls[key(product)] > 0


def test_unknown_and_malformed_ids_are_not_found(repo, cache) -> None:
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, new_id())
    assert key(new_id()) not in cache.data  # a miss on an absent product caches nothing
    gets = repo.gets
    for bad in ("../x", "x" * 3000, "ünï", ""):
        with pytest.raises(NotFound):
            svc.get_product(repo, cache, bad)
    assert repo.gets == gets  # malformed ids never reach the table


def test_corrupt_cache_entry_falls_back_to_the_table(repo, cache, product) -> None:
    for corrupt in ("garbage", "7|{not json", '3|{"unexpected": 1}', "|[1,2]"):
        cache.data[key(product)] = corrupt
        got, hit = svc.get_product(repo, cache, product.product_id)
        assert (got, hit) == (product, False)


def test_cache_down_everything_still_works(repo, cache) -> None:
    cache.down = True
    p = svc.create_product(repo, cache, SELLER, FIELDS)
    assert svc.get_product(repo, cache, p.product_id) == (p, False)
    assert svc.get_product(repo, cache, p.product_id) == (p, False)
    assert svc.update_product(repo, cache, SELLER, p.product_id, {"stock": 1}).version == 2
    body, hit = svc.list_products(repo, cache, None, 10, None, None, json.dumps)
    assert not hit and [i["version"] for i in body["items"]] == [2]
    svc.delete_product(repo, cache, SELLER, p.product_id)
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, p.product_id)
    assert cache.data == {}


# --- coherence after writes -------------------------------------------------------------------------------------

def test_update_replaces_the_cached_version(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)  # cached v1
    svc.update_product(repo, cache, SELLER, product.product_id, {"name": "New"})
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert hit and (got.version, got.name) == (2, "New")


def test_delete_leaves_a_tombstone(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)
    svc.delete_product(repo, cache, SELLER, product.product_id)
    assert cache.data[key(product)].startswith("2|")  # tombstone one past the deleted version
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


def test_stale_writer_cannot_overwrite_a_newer_cached_version(repo, cache, product) -> None:
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 5})
    v3 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 6})
    # The v2 write's cache update (or its event) arrives late: it must not replace v3.
    assert svc.apply_product_event(cache, "ProductUpdated", {"product": v2.to_dict()}, v2.product_id)
    got, hit = svc.get_product(repo, cache, product.product_id)
    assert hit and got == v3
    # Nor may any update resurrect a deleted product.
    svc.delete_product(repo, cache, SELLER, product.product_id)
    assert svc.apply_product_event(cache, "ProductUpdated", {"product": v3.to_dict()}, v3.product_id)
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)


def test_update_event_brings_a_stale_cache_forward(repo, cache, product) -> None:
    """The consumer's backstop: the write path could not reach the cache, the event fixes it."""
    svc.get_product(repo, cache, product.product_id)  # v1 cached
    cache.down = True
    v2 = svc.update_product(repo, cache, SELLER, product.product_id, {"stock": 0})
    assert svc.apply_product_event(cache, "ProductUpdated", {"product": v2.to_dict()}, v2.product_id) is False
    cache.down = False
    assert svc.get_product(repo, cache, product.product_id)[0].version == 1  # stale until the event is applied
    assert svc.apply_product_event(cache, "ProductUpdated", {"product": v2.to_dict()}, v2.product_id) is True
    assert svc.get_product(repo, cache, product.product_id) == (v2, True)


def test_delete_event_tombstones_even_if_the_write_path_missed_it(repo, cache, product) -> None:
    svc.get_product(repo, cache, product.product_id)
    cache.down = True
    svc.delete_product(repo, cache, SELLER, product.product_id)
    cache.down = False
    data: dict[str, Any] = {"product_id": product.product_id, "seller_id": "seller-1", "version": 1}
    assert svc.apply_product_event(cache, "ProductDeleted", data, product.product_id) is True
    with pytest.raises(NotFound):
        svc.get_product(repo, cache, product.product_id)


def test_created_event_only_bumps_the_list_generation(cache) -> None:
    assert svc.apply_product_event(cache, "ProductCreated", {"product_id": "x"}, "x") is True
    assert cache.data == {svc.LIST_GENERATION_KEY: "1"}
    cache.down = True
    assert svc.apply_product_event(cache, "ProductCreated", {"product_id": "x"}, "x") is False


# --- lists ------------------------------------------------------------------------------------------------------

def _list(repo, cache, **kw) -> tuple[dict, bool]:
    return svc.list_products(repo, cache, kw.get("seller_id"), kw.get("limit", 10), None, None, json.dumps)


@pytest.mark.parametrize("write", ["create", "update", "delete"])
def test_every_write_bumps_the_list_generation(repo, cache, product, write: str) -> None:
    assert _list(repo, cache)[1] is False
    assert _list(repo, cache)[1] is True
    gen = int(cache.data[svc.LIST_GENERATION_KEY])
    if write == "create":
        svc.create_product(repo, cache, SELLER, dict(FIELDS, name="Second"))
    elif write == "update":
        svc.update_product(repo, cache, ADMIN, product.product_id, {"name": "Renamed"})
    else:
        svc.delete_product(repo, cache, SELLER, product.product_id)
    assert int(cache.data[svc.LIST_GENERATION_KEY]) == gen + 1
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
    page1, _ = svc.list_products(repo, cache, None, 2, None, None, lambda pos: "C:" + pos["product_id"])
    assert [i["name"] for i in page1["items"]] == ["p2", "p1"]
    assert page1["next_cursor"] == "C:" + page1["items"][-1]["product_id"]
    start = {"created_at": page1["items"][-1]["created_at"], "product_id": page1["items"][-1]["product_id"]}
    page2, _ = svc.list_products(repo, cache, None, 2, page1["next_cursor"], start, lambda pos: "never")
    assert [i["name"] for i in page2["items"]] == ["p0"] and page2["next_cursor"] is None


def test_corrupt_list_entry_or_generation_is_ignored(repo, cache, product) -> None:
    cache.data[svc.LIST_GENERATION_KEY] = "not-a-number"
    cache.data[svc.list_key(0, None, 10, None)] = "{corrupt"
    body, hit = _list(repo, cache)
    assert not hit and len(body["items"]) == 1


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
