"""In-memory implementations of the domain ports (bazaar.domain.ports), with the same contracts as the adapters.

- ``FakeProductRepository`` keeps products by id and enforces the version conditions of the real conditional
  transactions (``StaleVersion`` when the stored version is not the expected one, or the item is gone, or a stock
  edit finds the stock moved on). It also
  records the events written with each change (the outbox) and lets a test run code at chosen points
  (``on_get`` / ``on_replace``) to interleave a "concurrent" writer deterministically.
- ``FakeCache`` implements ``set_if_absent`` (SET NX) and ``set_if_newer`` (compare-and-set on the ``<version>|``
  prefix, like the Lua script) and fails open like ``ValkeyCache`` when ``down`` is set.
"""

from __future__ import annotations

import re
from dataclasses import replace as dc_replace
from typing import Any, Callable, Optional

from bazaar.domain.catalog import MUTABLE_FIELDS, Product
from bazaar.domain.events import DomainEvent
from bazaar.domain.ports import Page, StaleVersion

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
    _VERSION = re.compile(r"^(\d+)\|")

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.ttls: dict[str, int] = {}
        self.down = False

    def get(self, key: str) -> Optional[str]:
        return None if self.down else self.data.get(key)

    def set_if_absent(self, key: str, value: str, ttl_s: int) -> None:
        if not self.down and key not in self.data:
            self.data[key], self.ttls[key] = value, ttl_s

    def set_if_newer(self, key: str, version: int, value: str, ttl_s: int) -> bool:
        if self.down:
            return False
        current = self.data.get(key)
        match = self._VERSION.match(current) if current is not None else None
        if match and int(match.group(1)) >= version:
            return True  # reachable, nothing to do: the cache already holds this version or a newer one
        self.data[key], self.ttls[key] = value, ttl_s
        return True

    def delete(self, *keys: str) -> bool:
        if self.down:
            return False
        for k in keys:
            self.data.pop(k, None)
        return True

    def incr(self, key: str) -> Optional[int]:
        if self.down:
            return None
        value = int(self.data.get(key, "0")) + 1
        self.data[key] = str(value)
        return value

    def version_of(self, key: str) -> Optional[int]:
        entry = self.data.get(key)
        match = self._VERSION.match(entry) if entry is not None else None
        return int(match.group(1)) if match else None
