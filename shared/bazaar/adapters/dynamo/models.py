"""pynamodb item types of the single table. Every item has PK/SK; GSIs are sparse (only items that set them).

| item     | PK                | SK        | GSI1PK / GSI1SK                  | GSI2PK / GSI2SK                          |
|----------|-------------------|-----------|----------------------------------|------------------------------------------|
| Product  | PRODUCT#<id>      | PRODUCT   | PRODUCTS / <created_at>#<id>     | SELLER#<seller>#PRODUCTS / <created_at>#<id> |
| Outbox   | OUTBOX#<event id> | EVENT     | -                                | -                                        |
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from bazaar import settings


class _Base(Model):
    class Meta:
        table_name = "unbound"  # bound to the real table by bind() on first use (settings.table_name())

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)


class ProductsByTime(GlobalSecondaryIndex["ProductItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class ProductsBySeller(GlobalSecondaryIndex["ProductItem"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class ProductItem(_Base):
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    GSI2PK = UnicodeAttribute()
    GSI2SK = UnicodeAttribute()
    item_type = UnicodeAttribute(default="Product")
    product_id = UnicodeAttribute()
    seller_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    price_cents = NumberAttribute()
    currency = UnicodeAttribute()
    stock = NumberAttribute()
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_time = ProductsByTime()
    by_seller = ProductsBySeller()


class OutboxItem(_Base):
    """A domain event waiting for the stream publisher; expires once it can no longer matter."""

    item_type = UnicodeAttribute(default="Outbox")
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    aggregate_id = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    payload = UnicodeAttribute()  # the event message as JSON
    ttl = TTLAttribute()


ALL_MODELS: tuple[type[Model], ...] = (ProductItem, OutboxItem)
_bound: list[str] = []


def bind(table_name: str | None = None) -> None:
    """Point every item type at the table (once per container; the name comes from the function's grant)."""
    name = table_name or settings.table_name()
    if _bound == [name]:
        return
    for model in ALL_MODELS:
        model.Meta.table_name = name
        model.Meta.region = settings.region()
        model._connection = None  # type: ignore[attr-defined]  # rebuilt lazily for the new table
    _bound[:] = [name]


def product_keys(product_id: str) -> tuple[str, str]:
    return f"PRODUCT#{product_id}", "PRODUCT"


def outbox_keys(event_id: str) -> tuple[str, str]:
    return f"OUTBOX#{event_id}", "EVENT"
