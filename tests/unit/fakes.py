"""In-memory implementations of the domain ports (bazaar.domain.ports), with the same contracts as the adapters.

- ``FakeProductRepository`` keeps products by id and enforces the version conditions of the real conditional
  transactions (``StaleVersion`` when the stored version is not the expected one, or the item is gone, or a stock
  edit finds the stock moved on). It also
  records the events written with each change (the outbox) and lets a test run code at chosen points
  (``on_get`` / ``on_replace``) to interleave a "concurrent" writer deterministically.
- ``FakeCache`` implements ``ProductCache`` with the adapter's rules (versioned compare-and-set, tombstones,
  eviction marks, fill claims, list generations and the settling window) and fails open when ``down`` is set.
"""

from __future__ import annotations

import json
from dataclasses import replace as dc_replace
from typing import Any, Callable, Optional, Union

from bazaar.domain.catalog import MUTABLE_FIELDS, Listing, ListPage, Product
from bazaar.domain.events import DomainEvent
from bazaar.domain.ports import (MISS, UNAVAILABLE, Absent, Cached, Claim, ListingState, Lookup, Page, StaleVersion,
                                 Tombstone)

Hook = Optional[Callable[[str], None]]
ReadHook = Optional[Callable[[str], Optional[Product]]]


class FakeProductRepository:
    def __init__(self) -> None:
        self.items: dict[str, Product] = {}
        self.events: list[DomainEvent] = []
        self.gets = 0
        self.lists = 0
        self.replace_calls = 0
        # Called with the product id on each get; a Product it returns is what that read saw (a stale read).
        self.on_get: ReadHook = None
        self.on_replace: Hook = None  # called with the product id before each replace is checked

    # --- test helpers -------------------------------------------------------------------------------------
    def concurrent_update(self, product_id: str, **changes: Any) -> Product:
        """Another writer's successful change: the stored version moves on by one."""
        current = self.items[product_id]
        updated = dc_replace(current, **changes, version=current.version + 1)
        self.items[product_id] = updated
        return updated

    # --- ProductRepository ----------------------------------------------------------------------------------
    def get(self, product_id: str) -> Optional[Product]:
        self.gets += 1
        seen = self.on_get(product_id) if self.on_get else None
        return seen if seen is not None else self.items.get(product_id)

    def add(self, product: Product, event: DomainEvent) -> None:
        if product.product_id in self.items:
            raise StaleVersion("exists")
        self.items[product.product_id] = product
        self.events.append(event)

    def update(self, product: Product, previous: Product, event: DomainEvent) -> None:
        self.replace_calls += 1
        if self.on_replace:
            self.on_replace(product.product_id)
        stored = self.items.get(product.product_id)
        if stored is None or stored.version != previous.version:
            raise StaleVersion("version moved on")
        if product.stock != previous.stock and stored.stock != previous.stock:
            raise StaleVersion("stock moved on")
        changed = {f: getattr(product, f) for f in MUTABLE_FIELDS if getattr(product, f) != getattr(previous, f)}
        # Only the changed fields, like the adapter's update expression (a concurrent stock change survives).
        self.items[product.product_id] = dc_replace(stored, **changed, version=product.version,
                                                    updated_at=product.updated_at)
        self.events.append(event)

    def remove(self, product: Product, event: DomainEvent) -> None:
        stored = self.items.get(product.product_id)
        if stored is None or stored.version != product.version:
            raise StaleVersion("version moved on")
        del self.items[product.product_id]
        self.events.append(event)

    def list(self, seller_id: Optional[str], limit: int, start: Optional[dict[str, Any]]) -> Page:
        self.lists += 1
        ordered = sorted((p for p in self.items.values() if seller_id is None or p.seller_id == seller_id),
                         key=lambda p: (p.created_at, p.product_id), reverse=True)
        if start is not None:
            after = (start["created_at"], start["product_id"])
            ordered = [p for p in ordered if (p.created_at, p.product_id) < after]
        page = ordered[:limit]
        more = len(ordered) > limit
        position = {"created_at": page[-1].created_at, "product_id": page[-1].product_id} if more else None
        return Page(page, position)


class FakeCache:
    """``ProductCache`` in memory, with the adapter's rules (tests/integration/test_cache_port.py runs the same
    contract against both). Entries are (version, rank, product or None); ``down`` makes every call fail open;
    ``clock_ms`` drives the list settling window and entry expiry; ``on_lookup`` runs before each lookup."""

    EVICTED, PRODUCT, TOMBSTONE = 0, 1, 2

    def __init__(self, product_ttl_ms: int = 60_000, list_ttl_ms: int = 15_000, settle_ms: int = 2_000) -> None:
        self.entries: dict[str, tuple[int, int, Optional[Product]]] = {}
        self.expires: dict[str, int] = {}  # product id -> clock_ms when its entry expires
        self.claims: set[str] = set()
        self.pages: dict[tuple[int, Listing], tuple[ListPage, int]] = {}  # -> (page, expiry)
        self.generation = 0
        self.settled_at = -1  # clock_ms when the last change has settled
        self.down = False
        self.clock_ms = 0
        self.product_ttl_ms, self.list_ttl_ms, self.settle_ms = product_ttl_ms, list_ttl_ms, settle_ms
        self.on_lookup: Optional[Callable[[str], None]] = None
        self.calls: list[str] = []

    # --- test helpers -----------------------------------------------------------------------------------------
    def version_of(self, product_id: str) -> Optional[int]:
        entry = self.entries.get(product_id)
        return entry[0] if entry else None

    def expire(self, product_id: str) -> None:
        self.entries.pop(product_id, None)

    # --- ProductCache ---------------------------------------------------------------------------------------
    def _reachable(self, call: str) -> bool:
        self.calls.append(call)
        return not self.down

    def lookup(self, product_id: str) -> Lookup:
        if self.on_lookup:
            self.on_lookup(product_id)
        if not self._reachable("lookup"):
            return UNAVAILABLE
        entry = self.entries.get(product_id)
        if entry is not None and self.expires[product_id] <= self.clock_ms:
            del self.entries[product_id]
            entry = None
        if entry is None or entry[1] == self.EVICTED:
            return MISS
        version, rank, product = entry
        return Tombstone(version) if rank == self.TOMBSTONE else Cached(product)  # type: ignore[arg-type]

    def _put(self, call: str, product_id: str, version: int, rank: int, product: Optional[Product],
             same_rank: bool = False) -> bool:
        if not self._reachable(call):
            return False
        current = self.entries.get(product_id)
        if current is not None and self.expires[product_id] > self.clock_ms and (
                current[:2] > (version, rank) or (current[:2] == (version, rank) and not same_rank)):
            return True  # reachable, nothing to do: this version (or a newer one) is already there
        self.entries[product_id] = (version, rank, product)
        self.expires[product_id] = self.clock_ms + self.product_ttl_ms
        return True

    def fill(self, product: Product) -> bool:
        return self._put("fill", product.product_id, product.version, self.PRODUCT, product)

    def store(self, product: Product) -> bool:
        return self._put("store", product.product_id, product.version, self.PRODUCT, product)

    def refresh(self, product: Product) -> bool:
        return self._put("refresh", product.product_id, product.version, self.PRODUCT, product, same_rank=True)

    def bury(self, product_id: str, last_version: int) -> bool:
        return self._put("bury", product_id, last_version + 1, self.TOMBSTONE, None)

    def evict(self, product_id: str, version: Optional[int]) -> bool:
        if version is None:
            if not self._reachable("evict"):
                return False
            self.entries.pop(product_id, None)
            return True
        return self._put("evict", product_id, version, self.EVICTED, None)

    def claim_fill(self, product_id: str) -> Claim:
        if not self._reachable("claim_fill"):
            return Claim.UNAVAILABLE
        if product_id in self.claims:
            return Claim.TAKEN
        self.claims.add(product_id)
        return Claim.CLAIMED

    def await_fill(self, product_id: str) -> tuple[Lookup, bool]:
        found = self.lookup(product_id)
        self.calls[-1] = "await_fill"
        return found, found is not UNAVAILABLE and product_id in self.claims

    def release_fill(self, product_id: str) -> None:
        if self._reachable("release_fill"):
            self.claims.discard(product_id)

    def catalog_changed(self) -> bool:
        if not self._reachable("catalog_changed"):
            return False
        self.generation += 1
        self.settled_at = self.clock_ms + self.settle_ms
        return True

    def listing_state(self) -> Optional[ListingState]:
        if not self._reachable("listing_state"):
            return None
        return ListingState(self.generation, max(self.settled_at - self.clock_ms, 0))

    def page(self, state: ListingState, listing: Listing) -> Union[ListPage, Absent]:
        if not self._reachable("page"):
            return UNAVAILABLE
        found = self.pages.get((state.generation, listing))
        return found[0] if found and found[1] > self.clock_ms else MISS

    def keep_page(self, state: ListingState, listing: Listing, page: ListPage) -> None:
        if not self._reachable("keep_page"):
            return
        ttl = min(self.list_ttl_ms, state.settling_ms) if state.settling_ms else self.list_ttl_ms
        key = (state.generation, listing)
        if key not in self.pages or self.pages[key][1] <= self.clock_ms:
            self.pages[key] = (page, self.clock_ms + max(ttl, 1))


class FakeCursors:
    """``Cursors`` without signatures: a cursor is the position's JSON; anything else is refused."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, position: dict[str, Any]) -> str:
        self.encoded += 1
        return json.dumps(position, sort_keys=True)

    def decode(self, cursor: str) -> dict[str, Any]:
        try:
            position = json.loads(cursor)
        except ValueError as exc:
            raise ValueError("malformed cursor") from exc
        if not isinstance(position, dict):
            raise ValueError("malformed cursor")
        return position
