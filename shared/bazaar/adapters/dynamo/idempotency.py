"""Powertools idempotency records on the single table, written with botocore instead of boto3.

``BotocorePersistenceLayer`` is Powertools' ``DynamoDBPersistenceLayer`` (same items, same conditions, same
exceptions: the in-progress record carries the Lambda deadline, a completed one the stored result and the TTL, a
payload hash where validation is asked for, and ``ConditionalCheckFailed`` turns into
``IdempotencyItemAlreadyExistsError`` with the stored record) over a botocore client of the function's one SDK
session (``bazaar.wiring.dynamodb_client``). Powertools' own layer creates a boto3 session and client: boto3 with
s3transfer on top of botocore, and a second SDK session that reloads the endpoint and service data.

Importing ``aws_lambda_powertools.utilities.idempotency`` runs its package ``__init__``, which imports
``DynamoDBPersistenceLayer`` and so boto3, whichever part is used. ``without_boto3_layer`` registers the package
with the same public names resolved on first access instead (``DynamoDBPersistenceLayer``, and boto3 with it, only
when someone asks for it, e.g. ``create_order``); the submodules are Powertools' own, unchanged.
``tests/unit/test_idempotency_store.py`` checks that the names match the package's ``__all__``.

Measured (``python -X importtime`` and a fresh process per figure, 2-core host, botocore already loaded): the
package import 27-32 ms, of which boto3 26 ms; creating the boto3 DynamoDB client 75-90 ms (a second session),
against 3-4 ms for a second client of the same botocore session.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable, Union

PACKAGE = "aws_lambda_powertools.utilities.idempotency"
# What the package's __init__ exports, and the submodule each name comes from.
EXPORTS = {
    "IdempotentHookFunction": "hook",
    "BasePersistenceLayer": "persistence.base",
    "DynamoDBPersistenceLayer": "persistence.dynamodb",
    "idempotent": "idempotency",
    "idempotent_function": "idempotency",
    "IdempotencyConfig": "idempotency",
}


def without_boto3_layer() -> ModuleType:
    """The Powertools idempotency package, registered without running its ``__init__`` if nothing imported it
    yet (if something did, that package as it is)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    import aws_lambda_powertools.utilities as parent

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{PACKAGE} is not an installed package")
    package = importlib.util.module_from_spec(spec)  # __path__ set: its submodules import as usual

    def __getattr__(name: str) -> Any:  # PEP 562: the __init__'s names, each imported when first asked for
        if name not in EXPORTS:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{PACKAGE}.{EXPORTS[name]}"), name)
        setattr(package, name, value)
        return value

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    package.__all__ = tuple(EXPORTS)  # type: ignore[attr-defined]
    sys.modules[PACKAGE] = package
    parent.idempotency = package  # type: ignore[attr-defined]
    return package


without_boto3_layer()

from botocore.exceptions import ClientError  # noqa: E402

from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: E402
    IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError, IdempotencyValidationError)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer  # noqa: E402
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (  # noqa: E402
    STATUS_CONSTANTS, DataRecord)

# A record may be written when: its key is new (or TTL deleted it), it has expired, or it is in progress past the
# deadline of the invocation that wrote it (that invocation timed out). Powertools' condition, verbatim.
PUT_CONDITION = ("attribute_not_exists(#id) OR #expiry < :now OR "
                 "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND "
                 "#in_progress_expiry < :now_in_millis)")


class BotocorePersistenceLayer(BasePersistenceLayer):
    """Idempotency records in ``table_name`` (a name, or a function returning it) under the partition
    ``static_pk_value`` (the sort key is Powertools' ``<function>.<module>.<qualname>#<hash>``). ``client`` is called
    for the botocore DynamoDB client whenever one is needed (it caches it): constructing the layer needs no AWS.
    Attribute names are Powertools' defaults but for the key and expiry attributes, as ``DynamoDBPersistenceLayer``
    takes them."""

    def __init__(self, table_name: Union[str, Callable[[], str]], static_pk_value: str, client: Callable[[], Any], *,
                 key_attr: str = "PK", sort_key_attr: str = "SK", expiry_attr: str = "ttl",
                 in_progress_expiry_attr: str = "in_progress_expiration", status_attr: str = "status",
                 data_attr: str = "data", validation_key_attr: str = "validation") -> None:
        if sort_key_attr == key_attr:
            raise ValueError(f"key_attr [{key_attr}] and sort_key_attr [{sort_key_attr}] cannot be the same!")
        self._table_name = table_name
        self.static_pk_value = static_pk_value
        self._client_factory = client
        self.key_attr = key_attr
        self.sort_key_attr = sort_key_attr
        self.expiry_attr = expiry_attr
        self.in_progress_expiry_attr = in_progress_expiry_attr
        self.status_attr = status_attr
        self.data_attr = data_attr
        self.validation_key_attr = validation_key_attr
        super().__init__()

    @property
    def table_name(self) -> str:
        # A callable (``settings.table_name``) is asked each time, like the client: both follow ``wiring.reset()``.
        return self._table_name() if callable(self._table_name) else self._table_name

    @property
    def client(self) -> Any:
        # Asked each time (the factory caches it): after ``wiring.reset()`` the store follows the container's
        # current client instead of keeping one bound to an endpoint a test has moved away from.
        return self._client_factory()

    def _get_key(self, idempotency_key: str) -> dict[str, Any]:
        return {self.key_attr: {"S": self.static_pk_value}, self.sort_key_attr: {"S": idempotency_key}}

    def _item_to_data_record(self, item: dict[str, Any]) -> DataRecord:
        def text(attr: str) -> Any:
            return item[attr]["S"] if attr in item else None

        def number(attr: str) -> Any:
            return int(item[attr]["N"]) if attr in item else None

        return DataRecord(idempotency_key=item[self.key_attr]["S"], status=item[self.status_attr]["S"],
                          expiry_timestamp=int(item[self.expiry_attr]["N"]),
                          in_progress_expiry_timestamp=number(self.in_progress_expiry_attr),
                          response_data=text(self.data_attr), payload_hash=text(self.validation_key_attr),
                          sort_key=item[self.sort_key_attr]["S"])

    def _get_record(self, idempotency_key: str) -> DataRecord:
        response = self.client.get_item(TableName=self.table_name, Key=self._get_key(idempotency_key),
                                        ConsistentRead=True)
        try:
            item = response["Item"]
        except KeyError as exc:
            raise IdempotencyItemNotFoundError from exc
        return self._item_to_data_record(item)

    def _put_record(self, data_record: DataRecord) -> None:
        item = {**self._get_key(data_record.idempotency_key),
                self.expiry_attr: {"N": str(data_record.expiry_timestamp)},
                self.status_attr: {"S": data_record.status}}
        if data_record.in_progress_expiry_timestamp is not None:
            item[self.in_progress_expiry_attr] = {"N": str(data_record.in_progress_expiry_timestamp)}
        if self.payload_validation_enabled and data_record.payload_hash:
            item[self.validation_key_attr] = {"S": data_record.payload_hash}
        now = dt.datetime.now()
        try:
            self.client.put_item(
                TableName=self.table_name, Item=item, ConditionExpression=PUT_CONDITION,
                ExpressionAttributeNames={"#id": self.key_attr, "#expiry": self.expiry_attr,
                                          "#in_progress_expiry": self.in_progress_expiry_attr,
                                          "#status": self.status_attr},
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))},
                                           ":now_in_millis": {"N": str(int(now.timestamp() * 1000))},
                                           ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",  # the stored record, without a second read
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            stored = exc.response.get("Item")  # type: ignore[misc]
            if stored is None:
                raise IdempotencyItemAlreadyExistsError() from exc
            old = self._item_to_data_record(stored)
            try:
                self._validate_payload(data_payload=data_record, stored_data_record=old)
                self._save_to_cache(data_record=old)
            except IdempotencyValidationError as refused:
                raise refused from exc
            raise IdempotencyItemAlreadyExistsError(old_data_record=old) from exc

    def _update_record(self, data_record: DataRecord) -> None:
        expression = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
        values: dict[str, Any] = {":expiry": {"N": str(data_record.expiry_timestamp)},
                                  ":response_data": {"S": data_record.response_data},
                                  ":status": {"S": data_record.status}}
        names = {"#expiry": self.expiry_attr, "#response_data": self.data_attr, "#status": self.status_attr}
        if self.payload_validation_enabled:
            expression += ", #validation_key = :validation_key"
            values[":validation_key"] = {"S": data_record.payload_hash}
            names["#validation_key"] = self.validation_key_attr
        self.client.update_item(TableName=self.table_name, Key=self._get_key(data_record.idempotency_key),
                                UpdateExpression=expression, ExpressionAttributeNames=names,
                                ExpressionAttributeValues=values)

    def _delete_record(self, data_record: DataRecord) -> None:
        self.client.delete_item(TableName=self.table_name, Key=self._get_key(data_record.idempotency_key))
