"""The interfaces the service layer needs from the outside world. Adapters implement them; tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol

from bazaar.domain.catalog import Product
from bazaar.domain.events import DomainEvent


class StaleVersion(Exception):
    """The stored item moved on (or vanished) between read and conditional write."""


class InvalidPosition(ValueError):
    """A list position (from a cursor) that is not one the repository could have produced."""


@dataclass(frozen=True)
class Page:
    items: list[Product]
    position: Optional[dict[str, Any]]  # where the next page starts, None when this is the last page


class ProductRepository(Protocol):
    def get(self, product_id: str) -> Optional[Product]: ...

    def add(self, product: Product, event: DomainEvent) -> None:
        """Store a new product and its event atomically."""

    def replace(self, product: Product, expected_version: int, event: DomainEvent) -> None:
        """Store a new version and its event atomically; StaleVersion if the stored version is not expected."""

    def remove(self, product: Product, event: DomainEvent) -> None:
        """Delete the product at its version and store the event atomically; StaleVersion otherwise."""

    def list(self, seller_id: Optional[str], limit: int, start: Optional[dict[str, Any]]) -> Page: ...


class Cache(Protocol):
    """A best-effort cache: every method fails open (returns None/False, does nothing) when the cache is down."""

    def get(self, key: str) -> Optional[str]: ...

    def set_if_absent(self, key: str, value: str, ttl_s: int) -> None: ...

    def set_if_newer(self, key: str, version: int, value: str, ttl_s: int) -> bool:
        """Store ``value`` unless the entry holds a version >= ``version``. False if the cache is unreachable.

        ``value`` starts with ``"<version>|"`` (the service layer's encoding), which the cache compares on."""

    def delete(self, *keys: str) -> bool:
        """True when the keys are gone, False when the cache could not be reached."""

    def incr(self, key: str) -> Optional[int]: ...


class EventPublisher(Protocol):
    def publish_one(self, message: dict[str, Any]) -> str:
        """Publish one event message; return the broker's message id, raise on failure."""
