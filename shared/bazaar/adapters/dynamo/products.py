"""The product repository on the single table: every write goes with its outbox event in one transaction."""

from __future__ import annotations

from typing import Any, Optional

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from bazaar import settings
from bazaar.adapters.dynamo.models import ProductItem, bind, product_keys
from bazaar.adapters.dynamo.outbox import outbox_item
from bazaar.domain.catalog import Product
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


def _position(item: ProductItem, by_seller: bool) -> dict[str, Any]:
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
        self._connection = Connection(region=settings.region())

    def get(self, product_id: str) -> Optional[Product]:
        pk, sk = product_keys(product_id)
        try:
            return to_product(ProductItem.get(pk, sk, consistent_read=True))
        except ProductItem.DoesNotExist:
            return None

    def _transact(self, write: Any) -> None:
        try:
            with TransactWrite(connection=self._connection) as tx:
                write(tx)
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r]
            if "ConditionalCheckFailed" in reasons:
                raise StaleVersion(str(exc)) from exc
            raise

    def add(self, product: Product, event: DomainEvent) -> None:
        def write(tx: TransactWrite) -> None:
            tx.save(to_item(product), condition=ProductItem.PK.does_not_exist())
            tx.save(outbox_item(event))

        self._transact(write)

    def replace(self, product: Product, expected_version: int, event: DomainEvent) -> None:
        def write(tx: TransactWrite) -> None:
            tx.save(to_item(product), condition=ProductItem.version == expected_version)
            tx.save(outbox_item(event))

        self._transact(write)

    def remove(self, product: Product, event: DomainEvent) -> None:
        def write(tx: TransactWrite) -> None:
            tx.delete(to_item(product), condition=ProductItem.version == product.version)
            tx.save(outbox_item(event))

        self._transact(write)

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
        position = _position(items[-1], bool(seller_id)) if more and items else None
        return Page([to_product(i) for i in items], position)
