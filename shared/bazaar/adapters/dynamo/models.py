"""pynamodb item types of the single table. Every item has PK/SK; GSIs are sparse (only items that set them).

| item     | PK                | SK        | GSI1PK / GSI1SK                  | GSI2PK / GSI2SK                          |
|----------|-------------------|-----------|----------------------------------|------------------------------------------|
| Product  | PRODUCT#<id>      | PRODUCT   | PRODUCTS / <created_at>#<id>     | SELLER#<seller>#PRODUCTS / <created_at>#<id> |
| Outbox   | OUTBOX#<event id> | EVENT     | OUTBOX#<hour> / <occurred_at>#<id> | -                                      |
| Order    | ORDER#<id>        | ORDER     | -                                | CUSTOMER#<sub>#ORDERS / <created_at>#<id> |
| Payment  | PAYPROVIDER#simulated | CHARGE#<key> / REFUND#<key> | -                  | -                                        |
"""

from __future__ import annotations

from functools import lru_cache

import pynamodb.connection.base
from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from bazaar import settings
from bazaar.adapters import sdk

# pynamodb gives each Connection (one per item type, one per repository) a botocore session of its own per thread,
# and every session loads the endpoint and service data again: 75-90 ms each at a cold start (bazaar.adapters.sdk).
# They take the container's session instead, which creates clients under a lock (pynamodb's reason for a session
# per thread); and the item types share one connection's client (``connection`` below).
pynamodb.connection.base.get_session = sdk.session  # type: ignore[attr-defined]


@lru_cache(maxsize=None)
def connection(region: str) -> Connection:
    """The container's one pynamodb connection in ``region``: transactions go through it, and every item type sends
    its requests through its botocore client.

    pynamodb gives each item type a connection of its own, each creating its own botocore session and DynamoDB
    client on first use; a write that reads a product and commits a transaction paid for two (or three), each about
    a fifth of the cold-start floor (``make bench``). Connections keep their own table descriptions (item types
    declare different indexes on the one table); only the client is shared."""
    return Connection(region=region)


class _Base(Model):
    class Meta:
        table_name = "unbound"  # bound to the real table by bind() on first use (settings.table_name())

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        if table.connection._client is None:  # pynamodb's private field: its client, created on first use
            table.connection._client = connection(settings.region()).client
        return table


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


class OutboxByTime(GlobalSecondaryIndex["OutboxItem"]):
    """Outbox items by hour of creation: the stream relay's redrive finds the events of a failed batch here."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class OutboxItem(_Base):
    """A domain event waiting for the stream publisher; expires once it can no longer matter."""

    GSI1PK = UnicodeAttribute(null=True)  # OUTBOX#<yyyy-mm-ddThh> (absent on redrive copies)
    GSI1SK = UnicodeAttribute(null=True)  # <occurred_at>#<event_id>
    item_type = UnicodeAttribute(default="Outbox")
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    aggregate_id = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    payload = UnicodeAttribute()  # the event message as JSON
    ttl = TTLAttribute()

    by_time = OutboxByTime()


class OrderLineMap(MapAttribute):
    product_id = UnicodeAttribute()
    seller_id = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price_cents = NumberAttribute()


class OrdersByCustomer(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class OrderItem(_Base):
    GSI2PK = UnicodeAttribute()  # CUSTOMER#<sub>#ORDERS
    GSI2SK = UnicodeAttribute()  # <created_at>#<order_id>
    item_type = UnicodeAttribute(default="Order")
    order_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    items = ListAttribute(of=OrderLineMap)
    total_cents = NumberAttribute()
    currency = UnicodeAttribute()
    payment_method = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    cancel_reason = UnicodeAttribute(null=True)
    refund_requested_at = UnicodeAttribute(null=True)  # set once, when a refund is asked of the provider

    by_customer = OrdersByCustomer()


class SimulatedPaymentItem(_Base):
    """The simulated payment provider's ledger: one item per charge or refund, keyed by its idempotency key, all
    in the provider's own partition (``PAYPROVIDER#simulated``)."""

    item_type = UnicodeAttribute(default="SimulatedPayment")
    kind = UnicodeAttribute()  # charge | refund
    idempotency_key = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    method = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()
    created_at = UnicodeAttribute()


ALL_MODELS: tuple[type[Model], ...] = (ProductItem, OutboxItem, OrderItem, SimulatedPaymentItem)
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


def reset() -> None:
    """Forget the binding and the container's client (``bazaar.wiring.reset``: tests that switch endpoints)."""
    _bound.clear()
    connection.cache_clear()


def product_keys(product_id: str) -> tuple[str, str]:
    return f"PRODUCT#{product_id}", "PRODUCT"


def outbox_keys(event_id: str) -> tuple[str, str]:
    return f"OUTBOX#{event_id}", "EVENT"


def order_keys(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "ORDER"


SIMULATED_PROVIDER_PARTITION = "PAYPROVIDER#simulated"


def simulated_payment_keys(kind: str, idempotency_key: str) -> tuple[str, str]:
    return SIMULATED_PROVIDER_PARTITION, f"{kind.upper()}#{idempotency_key}"
