"""The local moto fixes (local/moto_patches.py) against a real moto server."""

from __future__ import annotations

import boto3

from local import moto_patches
from tests.support.aws import create_table


def test_stream_iterators_stay_bounded(aws, monkeypatch) -> None:
    moto_patches.bound_stream_iterators()
    monkeypatch.setattr(moto_patches, "MAX_SHARD_ITERATORS", 20)
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    create_table(ddb, "iterators")
    arn = ddb.describe_table(TableName="iterators")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    for _ in range(60):  # a poller's pattern: a fresh iterator per poll
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        streams.get_records(ShardIterator=it["ShardIterator"])
    backend = dynamodbstreams_backends["123456789012"]["eu-west-1"]
    assert len(backend.shard_iterators) <= 20
    # recent iterators still chain, as on AWS
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    nxt = streams.get_records(ShardIterator=it)["NextShardIterator"]
    assert streams.get_records(ShardIterator=nxt)["Records"] == []
