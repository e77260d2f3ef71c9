"""Catalog use cases: read-through caching and versioned writes around the catalog rules.

Cache coherence (contract §6: after a successful PATCH or DELETE no client reads the old version):
- a product is cached as ``<version>|<json>``; writers overwrite it with a compare-and-set on the version
  (``set_if_newer``), so neither a slow reader nor an out-of-order writer can put an older version back;
- a delete leaves a versioned tombstone, so a reader that loaded the product before the delete cannot re-add it;
- readers fill the cache only when the key is absent (``set_if_absent``);
- list pages are cached under a generation number that every write increments.
If the cache cannot be reached during a write, the ``invalidate_cache`` consumer repeats the eviction from the
event (with retries and a DLQ); entries also expire after a short TTL.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional, Sequence

from bazaar import settings
from bazaar.domain import catalog
from bazaar.domain.catalog import Product
from bazaar.domain.clock import utc_now
from bazaar.domain.errors import Conflict, NotFound
from bazaar.domain.identity import Actor
from bazaar.domain.ids import is_valid_id
from bazaar.domain.ports import Cache, Page, ProductRepository, StaleVersion

LIST_GENERATION_KEY = "products:gen"
TOMBSTONE = ""
WRITE_ATTEMPTS = 3


def product_key(product_id: str) -> str:
    return f"product:{product_id}"


def list_key(generation: int, seller_id: Optional[str], limit: int, cursor: Optional[str]) -> str:
    return f"products:list:{generation}:{seller_id or '*'}:{limit}:{cursor or '-'}"


def _encode(product: Optional[Product], version: int) -> str:
    return f"{version}|{json.dumps(product.to_dict()) if product else TOMBSTONE}"


def _decode(entry: str) -> Optional[Product]:
    """The cached product, or None for a tombstone. Raises ValueError on a corrupt entry."""
    version, sep, payload = entry.partition("|")
    if not sep or not version.isdigit():  # not "<version>|...": corrupt, not a tombstone
        raise ValueError("corrupt cache entry")
    return Product(**json.loads(payload)) if payload else None


def get_product(repo: ProductRepository, cache: Cache, product_id: str) -> tuple[Product, bool]:
    """The product and whether it came from the cache."""
    if not is_valid_id(product_id):
        raise NotFound("no such product")
    entry = cache.get(product_key(product_id))
    if entry is not None:
        try:
            cached = _decode(entry)
        except (ValueError, TypeError):
            cached, entry = None, None  # corrupt entry: fall through to the table
        else:
            if cached is None:
                raise NotFound("no such product")
            return cached, True
    product = repo.get(product_id)
    if product is None:
        raise NotFound("no such product")
    cache.set_if_absent(product_key(product_id), _encode(product, product.version), settings.PRODUCT_CACHE_TTL_S)
    return product, False


def list_products(
    repo: ProductRepository,
    cache: Cache,
    seller_id: Optional[str],
    limit: int,
    cursor: Optional[str],
    start: Optional[dict[str, Any]],
    encode_position: Callable[[dict[str, Any]], str],
) -> tuple[dict[str, Any], bool]:
    """A page as the API returns it (``items``, ``next_cursor``) and whether it came from the cache."""
    generation = cache.get(LIST_GENERATION_KEY) or "0"
    key = list_key(int(generation) if generation.isdigit() else 0, seller_id, limit, cursor)
    entry = cache.get(key)
    if entry is not None:
        try:
            return json.loads(entry), True
        except ValueError:
            pass
    page: Page = repo.list(seller_id, limit, start)
    body = {
        "items": [p.to_dict() for p in page.items],
        "next_cursor": encode_position(page.position) if page.position else None,
    }
    cache.set_if_absent(key, json.dumps(body), settings.LIST_CACHE_TTL_S)
    return body, False


def create_product(repo: ProductRepository, cache: Cache, actor: Actor, fields: Mapping[str, Any]) -> Product:
    product, event = catalog.new_product(actor, fields, utc_now())
    repo.add(product, event)
    cache.incr(LIST_GENERATION_KEY)
    return product


def _load(repo: ProductRepository, product_id: str) -> Product:
    product = repo.get(product_id) if is_valid_id(product_id) else None
    if product is None:
        raise NotFound("no such product")
    return product


def update_product(
    repo: ProductRepository, cache: Cache, actor: Actor, product_id: str, changes: Mapping[str, Any],
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
        cache.set_if_newer(product_key(product_id), updated.version, _encode(updated, updated.version),
                           settings.PRODUCT_CACHE_TTL_S)
        cache.incr(LIST_GENERATION_KEY)
        return updated
    raise Conflict("the product is being changed concurrently; retry")


def delete_product(
    repo: ProductRepository, cache: Cache, actor: Actor, product_id: str, if_match: Optional[str] = None
) -> None:
    for _ in range(WRITE_ATTEMPTS):
        product = _load(repo, product_id)
        event = catalog.delete(product, actor, if_match)
        try:
            repo.remove(product, event)
        except StaleVersion:
            continue
        evict_deleted(cache, product_id, product.version + 1)
        return
    raise Conflict("the product is being changed concurrently; retry")


def evict_deleted(cache: Cache, product_id: str, tombstone_version: int) -> bool:
    ok = cache.set_if_newer(product_key(product_id), tombstone_version, _encode(None, tombstone_version),
                            settings.PRODUCT_CACHE_TTL_S)
    return cache.incr(LIST_GENERATION_KEY) is not None and ok


def apply_product_event(cache: Cache, event_type: str, data: Mapping[str, Any], aggregate_id: str) -> bool:
    """Bring the cache in line with a product event (the consumer's backstop). False if the cache is down."""
    if event_type == "ProductUpdated":
        product = Product(**data["product"])
        ok = cache.set_if_newer(product_key(product.product_id), product.version, _encode(product, product.version),
                                settings.PRODUCT_CACHE_TTL_S)
        return cache.incr(LIST_GENERATION_KEY) is not None and ok
    if event_type == "ProductDeleted":
        return evict_deleted(cache, aggregate_id, int(data["version"]) + 1)
    return cache.incr(LIST_GENERATION_KEY) is not None  # ProductCreated: only lists change


def refresh_stock(repo: ProductRepository, cache: Cache, product_ids: Sequence[str]) -> bool:
    """An order took or gave back stock of these products (their version does not change): replace each cached
    entry with the product as the table has it now, read after the order committed, and outdate the list pages.
    Product reads then show the new stock, and the next order still takes its snapshot from the cache. A deleted
    product keeps its tombstone. False if the cache is down (the caller retries). docs/orders.md states the
    freshness bound this gives."""
    ok = True
    for pid in product_ids:
        key = product_key(pid)
        entry = cache.get(key)
        if entry is not None and entry.partition("|")[2] == TOMBSTONE:
            continue  # a late reader must not bring a deleted product back
        product = repo.get(pid)
        if not cache.delete(key):  # same version, new stock: set_if_newer would keep the old entry
            ok = False
            continue
        if product is not None:
            cache.set_if_absent(key, _encode(product, product.version), settings.PRODUCT_CACHE_TTL_S)
    return cache.incr(LIST_GENERATION_KEY) is not None and ok
