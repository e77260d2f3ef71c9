"""The interfaces the service layer needs from the outside world. Adapters implement them; tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

from bazaar.domain.catalog import Listing, ListPage, Product
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


# --- the catalog cache ------------------------------------------------------------------------------------------
# What a lookup can find. The cache holds products by version; how an entry is encoded is the adapter's business.

@dataclass(frozen=True)
class Cached:
    """A product entry: the product as it was at ``product.version``."""

    product: Product


@dataclass(frozen=True)
class Tombstone:
    """The product was deleted: no version below ``version`` (one past its last one) may be cached again."""

    version: int


class Absent(Enum):
    MISS = "miss"  # nothing usable: no entry, an evicted version, or an entry the adapter could not read
    UNAVAILABLE = "unavailable"  # the cache did not answer: skip it for the rest of this request


MISS, UNAVAILABLE = Absent.MISS, Absent.UNAVAILABLE
Lookup = Union[Cached, Tombstone, Absent]


class Claim(Enum):
    """The answer to "may I fill this entry?" (single flight: one reader loads a missing entry, others wait)."""

    CLAIMED = "claimed"  # yes: load it, fill it, release the claim
    TAKEN = "taken"  # another reader is loading it right now
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ListingState:
    """The cache's view of the product listings: which generation of pages is current, and for how long pages
    should still be kept short because a write happened moments ago (the index may not show it yet)."""

    generation: int
    settling_ms: int


class ProductCache(Protocol):
    """A best-effort cache of catalog reads. No method raises: an unreachable cache answers ``UNAVAILABLE``,
    ``False`` or ``None`` at once (a short timeout, then a circuit breaker).

    Every product entry is versioned and replaced only by a newer one (or, by ``refresh``, by the same version with
    the stock an order left), so neither a slow reader nor a late writer or event can put an older version back.
    Order at one version: an eviction mark < the product < a tombstone.
    """

    def lookup(self, product_id: str) -> Lookup: ...

    def fill(self, product: Product) -> bool:
        """A reader's fill, after reading the table: kept unless the entry holds this version or a newer one."""

    def store(self, product: Product) -> bool:
        """A writer's new version (same rule as ``fill``). False: the cache could not be reached."""

    def refresh(self, product: Product) -> bool:
        """The product changed without a new version (an order moved its stock): replace an entry of this version
        (or none), never a newer version or a tombstone."""

    def bury(self, product_id: str, last_version: int) -> bool:
        """Leave a tombstone for a product deleted at ``last_version``."""

    def evict(self, product_id: str, version: Optional[int]) -> bool:
        """Make every cached version below ``version`` unusable (an eviction mark at ``version``), without
        writing a product; ``None``: drop the entry, whatever its version."""

    def claim_fill(self, product_id: str) -> Claim: ...

    def await_fill(self, product_id: str) -> tuple[Lookup, bool]:
        """The entry now, and whether another reader still holds the claim to fill it."""

    def release_fill(self, product_id: str) -> None: ...

    def catalog_changed(self) -> bool:
        """A product was added, changed or removed: every cached list page is outdated."""

    def listing_state(self) -> Optional[ListingState]:
        """None: the cache could not be reached."""

    def page(self, state: ListingState, listing: Listing) -> Union[ListPage, Absent]: ...

    def keep_page(self, state: ListingState, listing: Listing, page: ListPage) -> None: ...


class Cursors(Protocol):
    """Opaque, tamper-evident list positions for one listing (the web layer signs them)."""

    def encode(self, position: dict[str, Any]) -> str: ...

    def decode(self, cursor: str) -> dict[str, Any]:
        """Raises ValueError (a 400 for the client) when ``cursor`` was not issued for this listing."""


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
