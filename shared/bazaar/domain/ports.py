"""The interfaces the service layer needs from the outside world. Adapters implement them; tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Protocol

from bazaar.domain.catalog import Product
from bazaar.domain.events import DomainEvent

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bazaar.domain.orders import Order, Reservation, Transition
    from bazaar.domain.payments import ChargeRequest, ChargeResult, RefundRequest, RefundResult


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

    def update(self, product: Product, previous: Product, event: DomainEvent) -> None:
        """Store the changes from ``previous`` to ``product`` and the event atomically, writing only the fields that
        changed; StaleVersion if the stored version is not ``previous.version`` (or, when ``stock`` changes, the
        stored stock is not ``previous.stock``: an order reserved units meanwhile)."""

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


# --- orders, payments, notifications -------------------------------------------------------------------------------

class ReservationFailed(Exception):
    """An order's reservations did not all hold; nothing was written. Per product: not enough stock, a catalog
    version other than the snapshot's (with the product as it is now), or no product at all."""

    def __init__(self, short: dict[str, int], outdated: dict[str, Product], gone: list[str]) -> None:
        super().__init__(f"reservation failed: short={sorted(short)} outdated={sorted(outdated)} gone={gone}")
        self.short = short  # product id -> units available
        self.outdated = outdated  # product id -> the product now
        self.gone = gone


class StaleOrder(Exception):
    """The stored order is not in the status a transition expected (another change won): re-read, decide again."""


class ProductsGone(Exception):
    """Products a transition gives stock back to no longer exist; nothing was written."""

    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"products gone: {product_ids}")
        self.product_ids = product_ids


@dataclass(frozen=True)
class OrderPage:
    items: list["Order"]
    position: Optional[dict[str, Any]]


class OrderRepository(Protocol):
    def get(self, order_id: str) -> Optional["Order"]:
        """The order as last written (a strongly consistent read)."""

    def place(self, order: "Order", reservations: "Sequence[Reservation]", event: DomainEvent) -> None:
        """Store the order, take every reservation's stock and store the event, atomically; ReservationFailed
        (nothing written) if any reservation does not hold."""

    def apply(self, transition: "Transition") -> None:
        """Write a transition (order, stock given back, events) atomically; StaleOrder if the stored order is not
        in ``transition.expected_status`` any more, ProductsGone if a product to give stock back to is gone."""

    def list_for_customer(self, customer_id: str, limit: int, start: Optional[dict[str, Any]]) -> OrderPage: ...


class PaymentProvider(Protocol):
    """A payment service provider. Both calls are idempotent on the request's ``idempotency_key``: repeating one
    returns the first answer and moves no more money."""

    def charge(self, request: "ChargeRequest") -> "ChargeResult": ...

    def refund(self, request: "RefundRequest") -> "RefundResult": ...


class UserDirectory(Protocol):
    def email_of(self, user_id: str) -> Optional[str]:
        """The user's e-mail address, or None if the user or the address does not exist."""


class Notifier(Protocol):
    def send(self, to_address: str, subject: str, text: str) -> str:
        """Send one plain-text e-mail; returns the provider's message id; raises if it was not accepted."""
