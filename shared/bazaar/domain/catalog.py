"""The product catalog's rules: who may change a product, how versions move, what each change emits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping, Optional

from bazaar.domain.errors import Forbidden, InvalidRequest, PreconditionFailed
from bazaar.domain.events import DomainEvent
from bazaar.domain.identity import Actor
from bazaar.domain.ids import new_id

CURRENCIES = ("EUR", "USD", "GBP")
MUTABLE_FIELDS = ("name", "description", "price_cents", "currency", "stock")


@dataclass(frozen=True)
class Product:
    product_id: str
    seller_id: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int
    version: int
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def etag(self) -> str:
        # Strong validator of the representation: the version changes on every edit and ids never repeat, but an
        # order or a cancellation moves the stock without a new version, so the stock is part of the tag too (a
        # reader revalidating with If-None-Match is sent the new stock, never a 304 for the old one).
        return f'"{self.product_id}.{self.version}.{self.stock}"'

    @property
    def version_tag(self) -> str:
        """What If-Match compares: the tag without its stock part (see ``ensure_precondition``)."""
        return f"{self.product_id}.{self.version}"


@dataclass(frozen=True)
class Listing:
    """Which page of which product listing: all products or one seller's, newest first."""

    seller_id: Optional[str]
    limit: int
    cursor: Optional[str]  # opaque: where the previous page ended (None: the first page)


@dataclass(frozen=True)
class ListPage:
    items: tuple[Product, ...]
    next_cursor: Optional[str]  # None on the last page

    def to_dict(self) -> dict[str, Any]:
        return {"items": [p.to_dict() for p in self.items], "next_cursor": self.next_cursor}


def new_product(actor: Actor, fields: Mapping[str, Any], now: str) -> tuple[Product, DomainEvent]:
    if "seller" not in actor.groups:
        raise Forbidden("only sellers can list products")
    product = Product(
        product_id=new_id(),
        seller_id=actor.sub,
        name=fields["name"],
        description=fields.get("description", ""),
        price_cents=fields["price_cents"],
        currency=fields["currency"],
        stock=fields.get("stock", 0),
        version=1,
        created_at=now,
        updated_at=now,
    )
    return product, DomainEvent("ProductCreated", product.product_id, product.to_dict())


def ensure_can_change(product: Product, actor: Actor) -> None:
    """The owning seller or an admin may change a product; any other seller may not (403)."""
    if actor.is_admin:
        return
    if "seller" in actor.groups and actor.sub == product.seller_id:
        return
    raise Forbidden("only the owning seller or an admin may change this product")


def ensure_precondition(product: Product, if_match: Optional[str]) -> None:
    """RFC 9110 If-Match: ``*`` or a list of entity tags, one of which must name the current version (strong
    comparison: a weak tag never matches, since it cannot promise the exact representation being changed).

    The comparison is on the version part of the tag (``"<id>.<version>"``, with or without the stock after it):
    orders move the stock without a new version, and the copy a client read may come from the cache, whose stock
    can trail the table's by the refresh bound (docs/orders.md); comparing the stock too would refuse a seller's
    edit, again and again, for as long as the cache trails. Stock a seller sets is protected by its own
    compare-and-set (docs/orders.md), not by If-Match."""
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return
    if not any(_names_version(tag, product) for tag in tags):
        raise PreconditionFailed("the product has changed since the given ETag")


def _names_version(tag: str, product: Product) -> bool:
    if len(tag) < 2 or not (tag.startswith('"') and tag.endswith('"')):
        return False  # weak (W/"...") or malformed: never a strong match
    opaque = tag[1:-1]
    current = product.version_tag
    if opaque == current:  # a tag from before the stock was part of it
        return True
    head, _, stock = opaque.rpartition(".")
    return head == current and stock.isdigit()


def apply_update(
    product: Product, actor: Actor, changes: Mapping[str, Any], now: str, if_match: Optional[str] = None
) -> tuple[Product, DomainEvent]:
    ensure_can_change(product, actor)
    ensure_precondition(product, if_match)
    unknown = set(changes) - set(MUTABLE_FIELDS)
    if unknown:
        raise InvalidRequest(f"fields cannot be changed: {sorted(unknown)}")
    if not changes:
        raise InvalidRequest("the update changes nothing: send at least one field")
    updated = replace(product, **dict(changes), version=product.version + 1, updated_at=now)
    event = DomainEvent(
        "ProductUpdated",
        product.product_id,
        {"product": updated.to_dict(), "changed": sorted(changes), "previous_version": product.version},
    )
    return updated, event


def delete(product: Product, actor: Actor, if_match: Optional[str] = None) -> DomainEvent:
    ensure_can_change(product, actor)
    ensure_precondition(product, if_match)
    return DomainEvent(
        "ProductDeleted", product.product_id, {"product_id": product.product_id, "seller_id": product.seller_id,
                                               "version": product.version}
    )
