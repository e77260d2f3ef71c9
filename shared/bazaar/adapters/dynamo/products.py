"""The product repository on the single table: every write goes with its outbox event in one transaction."""

from __future__ import annotations

from typing import Any, Optional

from bazaar import settings
from bazaar.adapters.dynamo import transactions
from bazaar.adapters.dynamo.models import ProductItem, bind, connection, product_keys
from bazaar.adapters.dynamo.outbox import outbox_item
from bazaar.domain.catalog import MUTABLE_FIELDS, Product
from bazaar.domain.events import DomainEvent
from bazaar.domain.ports import InvalidPosition, Page, StaleVersion

ALL_PRODUCTS = "PRODUCTS"
_PRODUCT_FIELDS = tuple(Product.__dataclass_fields__)


def seller_partition(seller_id: str) -> str:
    return f"SELLER#{seller_id}#PRODUCTS"


def to_item(product: Product) -> ProductItem:
    pk, sk = product_keys(product.product_id)
    order = f"{product.created_at}#{product.product_id}"
    return ProductItem(pk, sk, GSI1PK=ALL_PRODUCTS, GSI1SK=order, GSI2PK=seller_partition(product.seller_id),
                       GSI2SK=order, **product.to_dict())


def to_product(item: ProductItem) -> Product:
    values = {f: getattr(item, f) for f in _PRODUCT_FIELDS}
    values["price_cents"], values["stock"], values["version"] = (
        int(values["price_cents"]), int(values["stock"]), int(values["version"]))
    return Product(**values)


def position_after(item: ProductItem, by_seller: bool) -> dict[str, Any]:
    """The LastEvaluatedKey a query would return after ``item`` (table key + the index key)."""
    key = {"PK": {"S": item.PK}, "SK": {"S": item.SK}}
    if by_seller:
        key.update(GSI2PK={"S": item.GSI2PK}, GSI2SK={"S": item.GSI2SK})
    else:
        key.update(GSI1PK={"S": item.GSI1PK}, GSI1SK={"S": item.GSI1SK})
    return key


def valid_position(position: dict[str, Any], by_seller: bool) -> bool:
    names = {"PK", "SK", "GSI2PK", "GSI2SK"} if by_seller else {"PK", "SK", "GSI1PK", "GSI1SK"}
    return set(position) == names and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 512
        for v in position.values())


class DynamoProductRepository:
    def __init__(self, table_name: Optional[str] = None) -> None:
        bind(table_name)
        self._connection = connection(settings.region())  # the container's one client

    def get(self, product_id: str) -> Optional[Product]:
        pk, sk = product_keys(product_id)
        try:
            return to_product(ProductItem.get(pk, sk, consistent_read=True))
        except ProductItem.DoesNotExist:
            return None

    def _transact(self, ops: list[transactions.Op]) -> None:
        try:
            transactions.run(self._connection, ops)
        except transactions.ConditionFailed as exc:
            raise StaleVersion(str(exc)) from exc

    def add(self, product: Product, event: DomainEvent) -> None:
        self._transact([transactions.put(to_item(product), "product", ProductItem.PK.does_not_exist()),
                        transactions.put(outbox_item(event), "outbox")])

    def update(self, product: Product, previous: Product, event: DomainEvent) -> None:
        """Write only what changed, so a concurrent order's stock reservation (an atomic decrement on the same
        item) is never overwritten: a price edit leaves ``stock`` alone, and a stock edit is conditional on the
        stock it was computed from (see docs/orders.md, "Seller edits and reservations")."""
        changed = [f for f in MUTABLE_FIELDS if getattr(product, f) != getattr(previous, f)]
        actions = [getattr(ProductItem, f).set(getattr(product, f)) for f in changed]
        actions += [ProductItem.version.set(product.version), ProductItem.updated_at.set(product.updated_at)]
        condition = ProductItem.version == previous.version
        if "stock" in changed:
            condition &= ProductItem.stock == previous.stock
        pk, sk = product_keys(product.product_id)
        self._transact([transactions.update(ProductItem(pk, sk), actions, "product", condition),
                        transactions.put(outbox_item(event), "outbox")])

    def remove(self, product: Product, event: DomainEvent) -> None:
        self._transact([transactions.delete(to_item(product), "product", ProductItem.version == product.version),
                        transactions.put(outbox_item(event), "outbox")])

    def list(self, seller_id: Optional[str], limit: int, start: Optional[dict[str, Any]]) -> Page:
        if start is not None and not valid_position(start, by_seller=bool(seller_id)):
            raise InvalidPosition("not a position in this listing")
        index = ProductItem.by_seller if seller_id else ProductItem.by_time
        partition = seller_partition(seller_id) if seller_id else ALL_PRODUCTS
        # One extra item tells whether another page exists, so the last page never carries a dead cursor.
        items = list(index.query(partition, scan_index_forward=False, limit=limit + 1, page_size=limit + 1,
                                 last_evaluated_key=start))
        more = len(items) > limit
        items = items[:limit]
        position = position_after(items[-1], bool(seller_id)) if more and items else None
        return Page([to_product(i) for i in items], position)
