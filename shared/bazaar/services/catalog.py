"""Catalog use cases: read-through caching and versioned writes around the catalog rules.

Cache coherence (contract §6: after a successful PATCH or DELETE no client reads the old version); docs/caching.md
has the whole argument and the measured bounds:
- every cached product is versioned and only ever replaced by a newer version (``ProductCache``; an order's stock
  refresh may rewrite the same version), so neither a slow reader nor a late writer or event can put an older
  version back;
- a writer stores the version it just wrote; a delete leaves a tombstone;
- the event backstop (``invalidate_cache``) repeats what a writer may have missed, but only evicts or
  tombstones by version: it never writes a product body taken from an event;
- one reader at a time loads a missing entry (single flight), the others wait briefly for its fill;
- list pages are cached per generation, which every change moves on; pages computed just after a change are
  kept only until the change has settled, since the index they were read from may not show it yet;
- a cache that does not answer is skipped for the rest of the request: at most one timeout per request.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional, Sequence

from bazaar.domain import catalog
from bazaar.domain.catalog import Listing, ListPage, Product
from bazaar.domain.clock import utc_now
from bazaar.domain.errors import Conflict, NotFound
from bazaar.domain.identity import Actor
from bazaar.domain.ids import is_valid_id
from bazaar.domain.ports import (MISS, UNAVAILABLE, Cached, Claim, Cursors, Lookup, ProductCache, ProductRepository,
                                 StaleVersion, Tombstone)

WRITE_ATTEMPTS = 3
# How a reader that lost the race to fill an entry waits for the winner (one table read, normally a few ms):
# polling at growing intervals while the winner still holds its claim, for a second at most; then it reads the
# table itself. A winner that gave up releases its claim, one that died lets it expire.
FILL_WAIT_S = (0.002, 0.004, 0.008, 0.016, 0.03, 0.04, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1)


def get_product(repo: ProductRepository, cache: ProductCache, product_id: str) -> tuple[Product, bool]:
    """The product and whether it came from the cache."""
    if not is_valid_id(product_id):
        raise NotFound("no such product")
    found = cache.lookup(product_id)
    if found is MISS:
        claim = cache.claim_fill(product_id)
        if claim is Claim.TAKEN:
            found = _wait_for_fill(cache, product_id)
        else:
            return _load_and_fill(repo, cache, product_id, claim), False
    if isinstance(found, Cached):
        return found.product, True
    if isinstance(found, Tombstone):
        raise NotFound("no such product")
    # UNAVAILABLE (no more cache calls in this request) or the filling reader took too long.
    return _load_and_fill(repo, cache, product_id, Claim.UNAVAILABLE if found is UNAVAILABLE else None), False


def _wait_for_fill(cache: ProductCache, product_id: str) -> Lookup:
    for pause in FILL_WAIT_S:
        time.sleep(pause)
        found, pending = cache.await_fill(product_id)
        if found is not MISS or not pending:
            return found
    return MISS


def _load_and_fill(repo: ProductRepository, cache: ProductCache, product_id: str, claim: Optional[Claim]) -> Product:
    """Read the table; fill the cache unless it is unavailable; release a claim this reader holds (a claim whose
    fill failed is left to expire: no second timeout for this request)."""
    reachable = claim is not Claim.UNAVAILABLE
    try:
        product = repo.get(product_id)
        if product is None:
            raise NotFound("no such product")
        if reachable:
            reachable = cache.fill(product)
        return product
    finally:
        if claim is Claim.CLAIMED and reachable:
            cache.release_fill(product_id)


def list_products(repo: ProductRepository, cache: ProductCache, listing: Listing,
                  cursors: Cursors) -> tuple[ListPage, bool]:
    """One page of a listing, and whether it came from the cache."""
    start = cursors.decode(listing.cursor) if listing.cursor is not None else None  # a bad cursor: 400 first
    state = cache.listing_state()
    if state is not None:
        found = cache.page(state, listing)
        if isinstance(found, ListPage):
            return found, True
        if found is UNAVAILABLE:
            state = None
    page = repo.list(listing.seller_id, listing.limit, start)
    result = ListPage(tuple(page.items), cursors.encode(page.position) if page.position else None)
    if state is not None:
        cache.keep_page(state, listing, result)
    return result, False


def create_product(repo: ProductRepository, cache: ProductCache, actor: Actor, fields: Mapping[str, Any]) -> Product:
    product, event = catalog.new_product(actor, fields, utc_now())
    repo.add(product, event)
    cache.catalog_changed()  # nothing of a new product is cached but the list pages
    return product


def _load(repo: ProductRepository, product_id: str) -> Product:
    product = repo.get(product_id) if is_valid_id(product_id) else None
    if product is None:
        raise NotFound("no such product")
    return product


def update_product(
    repo: ProductRepository, cache: ProductCache, actor: Actor, product_id: str, changes: Mapping[str, Any],
    if_match: Optional[str] = None,
) -> Product:
    # Optimistic concurrency: re-read and re-apply on a lost race. With If-Match, the re-check turns the race
    # into 412 (the client's version is gone); without it, partial changes merge onto the latest version.
    for _ in range(WRITE_ATTEMPTS):
        product = _load(repo, product_id)
        updated, event = catalog.apply_update(product, actor, changes, utc_now(), if_match)
        try:
            repo.update(updated, product, event)
        except StaleVersion:
            continue
        if cache.store(updated):
            cache.catalog_changed()
        return updated
    raise Conflict("the product is being changed concurrently; retry")


def delete_product(
    repo: ProductRepository, cache: ProductCache, actor: Actor, product_id: str, if_match: Optional[str] = None
) -> None:
    for _ in range(WRITE_ATTEMPTS):
        product = _load(repo, product_id)
        event = catalog.delete(product, actor, if_match)
        try:
            repo.remove(product, event)
        except StaleVersion:
            continue
        if cache.bury(product_id, product.version):
            cache.catalog_changed()
        return
    raise Conflict("the product is being changed concurrently; retry")


def apply_product_event(cache: ProductCache, event_type: str, data: Mapping[str, Any], aggregate_id: str) -> bool:
    """The backstop (``invalidate_cache``): repeat what the writer of this event may have missed. It evicts or
    tombstones by the event's version and never writes the event's product body, so a late, retried or redriven
    old event cannot bring back an old version or a deleted product. False if the cache is unreachable."""
    if event_type == "ProductUpdated":
        done = cache.evict(aggregate_id, int(data["product"]["version"]))
    elif event_type == "ProductDeleted":
        done = cache.bury(aggregate_id, int(data["version"]))
    else:  # ProductCreated: nothing of it can be cached yet but the list pages
        done = True
    return done and cache.catalog_changed()


def refresh_stock(repo: ProductRepository, cache: ProductCache, product_ids: Sequence[str]) -> bool:
    """An order took or gave back stock of these products, which does not change their version: replace each
    cached entry of that same version with the product as the table has it now (read after the order committed),
    and outdate the list pages. A newer version or a tombstone in the cache is left alone, so this never brings
    back an old version or a deleted product. False if the cache is unreachable (the consumer retries).
    docs/orders.md states the freshness bound this gives."""
    done = True
    for pid in product_ids:
        product = repo.get(pid) if is_valid_id(pid) else None
        if product is not None:
            done = cache.refresh(product) and done
    return cache.catalog_changed() and done
