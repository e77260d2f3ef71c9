"""Test provisioning on a moto server, from the same specs infra and the local stack use (bazaar.resources)."""

from __future__ import annotations

from typing import Any

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
