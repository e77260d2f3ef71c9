"""Test provisioning on a moto server, from the same specs infra and the local stack use (bazaar.resources)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from bazaar.resources import TABLE


def create_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in TABLE.key_attributes],
        KeySchema=[{"AttributeName": TABLE.pk, "KeyType": "HASH"}, {"AttributeName": TABLE.sk, "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": ix.name, "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": ix.pk, "KeyType": "HASH"}, {"AttributeName": ix.sk, "KeyType": "RANGE"}],
        } for ix in TABLE.indexes],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": TABLE.stream_view},
    )


@contextmanager
def dynamodb_requests() -> Iterator[list[str]]:
    """Every DynamoDB API call made meanwhile, by operation name, whichever client makes it (pynamodb's, the
    Powertools idempotency layer's, boto3's): counted where every botocore client sends its requests."""
    import botocore.client

    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def outbox_messages(ddb: Any, table: str, aggregate_id: Optional[str] = None) -> list[dict[str, Any]]:
    """Event messages in the table's outbox, as the relay publishes them (oldest first), optionally of one
    aggregate."""
    pages = ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True,
                                                FilterExpression="begins_with(PK, :p)",
                                                ExpressionAttributeValues={":p": {"S": "OUTBOX#"}})
    messages = [json.loads(i["payload"]["S"]) for page in pages for i in page["Items"]]
    if aggregate_id is not None:
        messages = [m for m in messages if m["aggregate_id"] == aggregate_id]
    return sorted(messages, key=lambda m: (m["occurred_at"], m["event_id"]))
