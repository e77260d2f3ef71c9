"""The event consumers through their entry points, with events shaped like the ones Lambda delivers:
``publish_events`` (table stream -> SNS) and ``invalidate_cache`` (SQS -> cache). At least once in, once applied."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Iterator

import boto3
import pytest
import redis

from bazaar import consumers, manifest, wiring
from bazaar.domain.ids import new_id
from bazaar.resources import subscription_filter
from bazaar.adapters.cache import product_key
from tests.integration.api import Api
from tests.support.events import FakeContext

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:bazaar-test-invalidate-cache"


def _clear_consumer_caches() -> None:
    wiring.reset()
    consumers.reset()


@pytest.fixture
def consumer_env(env: dict[str, str]) -> Iterator[dict[str, str]]:
    _clear_consumer_caches()
    yield env
    _clear_consumer_caches()


@pytest.fixture
def topic(consumer_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The events topic with two raw-delivery queues: the real invalidate_cache filter, and ProductDeleted only."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="bazaar-test-events")["TopicArn"]
    queues = {}
    for name, policy in (("invalidate", subscription_filter(manifest.get("invalidate_cache"))),
                         ("deleted-only", {"type": ["ProductDeleted"]})):
        url = sqs.create_queue(QueueName=f"bazaar-test-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps(policy)})
        queues[name] = url
    monkeypatch.setenv("EVENTS_TOPIC_ARN", arn)
    wiring.reset()
    return {"arn": arn, **queues}


# --- event builders ---------------------------------------------------------------------------------------------

def outbox_records(table: str) -> list[dict[str, Any]]:
    """The table stream's OUTBOX# INSERT records, as the event source mapping's filter delivers them to Lambda."""
    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]  # fresh each read
        records += streams.get_records(ShardIterator=iterator)["Records"]
    out = []
    for record in records:
        if record["eventName"] != "INSERT" or not record["dynamodb"]["Keys"]["PK"]["S"].startswith("OUTBOX#"):
            continue
        record = dict(record, eventSourceARN=stream_arn, awsRegion="eu-west-1")
        record["dynamodb"] = dict(record["dynamodb"],
                                  ApproximateCreationDateTime=int(record["dynamodb"]["ApproximateCreationDateTime"]
                                                                  .timestamp()))
        out.append(record)
    return out


def stream_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": json.loads(json.dumps(records))}


def sqs_record(body: str, event_type: str = "ProductUpdated", message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764288000000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1764288000001"},
        "messageAttributes": {"type": {"stringValue": event_type, "stringListValues": [], "binaryListValues": [],
                                       "dataType": "String"}},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }


def sqs_event_from_queue(queue_url: str) -> dict[str, Any]:
    """Everything in the queue, received and turned into the event Lambda's SQS poller would pass."""
    sqs = boto3.client("sqs")
    records = []
    while True:  # SNS -> SQS delivery is synchronous on moto: the messages are there once publish returns
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                  AttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return {"Records": records}
        for m in got:
            record = sqs_record(m["Body"], m["MessageAttributes"]["type"]["StringValue"], m["MessageId"])
            records.append(dict(record, receiptHandle=m["ReceiptHandle"]))


def updated_message(product: dict[str, Any], version: int, **changes: Any) -> dict[str, Any]:
    newer = dict(product, version=version, **changes)
    return {"event_id": new_id(), "type": "ProductUpdated", "aggregate_id": product["product_id"],
            "occurred_at": "2026-11-28T10:00:00.000Z",
            "data": {"product": newer, "changed": sorted(changes), "previous_version": version - 1}}


def publish(event: dict[str, Any]) -> dict[str, Any]:
    from functions.publish_events.handler import handler

    return handler(event, FakeContext("publish_events"))


def invalidate(event: dict[str, Any]) -> dict[str, Any]:
    from functions.invalidate_cache.handler import handler

    return handler(event, FakeContext("invalidate_cache"))


def idempotency_records(table: str, function_name: str) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb")
    return ddb.query(TableName=table, KeyConditionExpression="PK = :pk", ConsistentRead=True,
                     ExpressionAttributeValues={":pk": {"S": f"IDEMPOTENCY#{function_name}"}})["Items"]


def cached(env: dict[str, str], product_id: str) -> str | None:
    return redis.Redis.from_url(env["CACHE_URL"], decode_responses=True).get(product_key(product_id))


# --- publish_events ---------------------------------------------------------------------------------------------

def test_outbox_item_reaches_the_subscribed_queue_once(api: Api, topic: dict[str, str],
                                                        consumer_env: dict[str, str]) -> None:
    product = api.new_product()
    records = outbox_records(consumer_env["TABLE_NAME"])
    assert len(records) == 1
    assert publish(stream_event(records)) == {"batchItemFailures": []}
    assert publish(stream_event(records)) == {"batchItemFailures": []}  # redelivered batch: published once

    delivered = sqs_event_from_queue(topic["invalidate"])["Records"]
    assert len(delivered) == 1
    message = json.loads(delivered[0]["body"])
    assert message == json.loads(records[0]["dynamodb"]["NewImage"]["payload"]["S"])
    assert (message["type"], message["aggregate_id"]) == ("ProductCreated", product["product_id"])
    assert message["data"] == product
    assert delivered[0]["messageAttributes"]["type"]["stringValue"] == "ProductCreated"
    assert sqs_event_from_queue(topic["deleted-only"]) == {"Records": []}  # the filter policy holds it back
    (record,) = idempotency_records(consumer_env["TABLE_NAME"], "publish_events")
    assert record["status"]["S"] == "COMPLETED"


def test_every_change_is_published_in_order(api: Api, topic: dict[str, str],
                                             consumer_env: dict[str, str]) -> None:
    pid = api.new_product()["product_id"]
    api.patch(pid, {"stock": 9})
    api.delete(pid)
    records = outbox_records(consumer_env["TABLE_NAME"])
    assert publish(stream_event(records)) == {"batchItemFailures": []}
    types = [json.loads(r["body"])["type"] for r in sqs_event_from_queue(topic["invalidate"])["Records"]]
    assert sorted(types) == ["ProductCreated", "ProductDeleted", "ProductUpdated"]
    assert [json.loads(r["body"])["type"] for r in sqs_event_from_queue(topic["deleted-only"])["Records"]] == [
        "ProductDeleted"]


def test_a_bad_record_fails_alone_by_sequence_number(api: Api, topic: dict[str, str],
                                                      consumer_env: dict[str, str]) -> None:
    for _ in range(3):
        api.new_product()
    good, bad_json, no_payload = outbox_records(consumer_env["TABLE_NAME"])
    bad_json = json.loads(json.dumps(bad_json))
    bad_json["dynamodb"]["NewImage"]["payload"] = {"S": "{not json"}
    no_payload = json.loads(json.dumps(no_payload))
    del no_payload["dynamodb"]["NewImage"]["payload"]
    result = publish(stream_event([good, bad_json, no_payload]))
    assert result == {"batchItemFailures": [{"itemIdentifier": bad_json["dynamodb"]["SequenceNumber"]},
                                            {"itemIdentifier": no_payload["dynamodb"]["SequenceNumber"]}]}
    assert len(sqs_event_from_queue(topic["invalidate"])["Records"]) == 1


def test_fields_unknown_to_this_version_are_relayed_as_written(api: Api, topic: dict[str, str],
                                                                consumer_env: dict[str, str]) -> None:
    api.new_product()
    [record] = outbox_records(consumer_env["TABLE_NAME"])
    record = json.loads(json.dumps(record))
    payload = json.loads(record["dynamodb"]["NewImage"]["payload"]["S"])
    payload["schema_version"] = 2  # a newer producer's field: consumers of newer versions rely on it
    record["dynamodb"]["NewImage"]["payload"] = {"S": json.dumps(payload)}
    assert publish(stream_event([record])) == {"batchItemFailures": []}
    [delivered] = sqs_event_from_queue(topic["invalidate"])["Records"]
    assert json.loads(delivered["body"]) == payload


def test_a_failed_publish_is_retried_not_lost(api: Api, topic: dict[str, str], consumer_env: dict[str, str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    api.new_product()
    records = outbox_records(consumer_env["TABLE_NAME"])
    monkeypatch.setenv("EVENTS_TOPIC_ARN", topic["arn"] + "-gone")
    wiring.reset()
    with pytest.raises(consumers.BatchFailed):  # the whole batch failed: Lambda retries it
        publish(stream_event(records))
    assert idempotency_records(consumer_env["TABLE_NAME"], "publish_events") == []  # nothing marked done
    monkeypatch.setenv("EVENTS_TOPIC_ARN", topic["arn"])
    wiring.reset()
    assert publish(stream_event(records)) == {"batchItemFailures": []}
    assert len(sqs_event_from_queue(topic["invalidate"])["Records"]) == 1


# --- invalidate_cache -------------------------------------------------------------------------------------------

def test_update_event_evicts_older_versions_and_never_caches_the_event_body(api: Api,
                                                                           consumer_env: dict[str, str]) -> None:
    product = api.new_product()
    pid = product["product_id"]
    api.get(pid)  # v1 cached
    assert invalidate({"Records": [sqs_record(json.dumps(updated_message(product, 5, name="Newer")))]}) == {
        "batchItemFailures": []}
    assert cached(consumer_env, pid) == "5|evicted"  # versions below 5 are stale; no body from the event
    got = api.get(pid)
    assert (got.headers["x-cache"], got.json["version"], got.json["name"]) == ("MISS", 1, product["name"])
    older = updated_message(product, 3, name="Older")
    assert invalidate({"Records": [sqs_record(json.dumps(older))]}) == {"batchItemFailures": []}
    assert cached(consumer_env, pid) == "5|evicted"  # an older event never wins
    assert "Older" not in api.get(pid).body and "Newer" not in api.get(pid).body


def test_the_same_event_twice_is_applied_once(api: Api, consumer_env: dict[str, str]) -> None:
    product = api.new_product()
    pid = product["product_id"]
    message = updated_message(product, 2, stock=50)
    assert invalidate({"Records": [sqs_record(json.dumps(message))]}) == {"batchItemFailures": []}
    assert cached(consumer_env, pid).startswith("2|")
    redis.Redis.from_url(consumer_env["CACHE_URL"]).delete(product_key(pid))
    # the same event again (new SQS message id: SNS/SQS redelivery): no second effect
    assert invalidate({"Records": [sqs_record(json.dumps(message))]}) == {"batchItemFailures": []}
    assert cached(consumer_env, pid) is None
    records = idempotency_records(consumer_env["TABLE_NAME"], "invalidate_cache")
    assert len(records) == 1 and records[0]["status"]["S"] == "COMPLETED"
    assert records[0]["PK"]["S"] == "IDEMPOTENCY#invalidate_cache"


def test_poison_messages_fail_alone(api: Api, consumer_env: dict[str, str]) -> None:
    product = api.new_product()
    good = sqs_record(json.dumps(updated_message(product, 4)))
    poison = [
        sqs_record("not json"),
        sqs_record(""),
        sqs_record("[]"),
        sqs_record(json.dumps({"event_id": new_id()})),  # missing fields
        sqs_record(json.dumps(dict(updated_message(product, 4), event_id=""))),
        sqs_record(json.dumps(dict(updated_message(product, 4), data="not an object"))),
        sqs_record(json.dumps(dict(updated_message(product, 4), data={"product": {"product_id": "x"}}))),
        sqs_record(json.dumps({"event_id": new_id(), "type": "ProductDeleted", "aggregate_id": "x",
                               "occurred_at": "t", "data": {}})),  # no version
    ]
    result = invalidate({"Records": [poison[0], good, *poison[1:]]})
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(p["messageId"] for p in poison)
    assert cached(consumer_env, product["product_id"]).startswith("4|")


def test_cache_down_fails_the_record_so_it_is_retried(api: Api, consumer_env: dict[str, str], dead_cache_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    product = api.new_product()
    message = json.dumps(updated_message(product, 2, name="Eventually"))
    monkeypatch.setenv("CACHE_URL", dead_cache_url)
    wiring.reset()
    with pytest.raises(consumers.BatchFailed):  # a batch that failed entirely fails the invocation: all retried
        invalidate({"Records": [sqs_record(message)]})
    other = sqs_record(json.dumps(updated_message(product, 3)))
    failed = sqs_record(message)
    with pytest.raises(consumers.BatchFailed):
        invalidate({"Records": [other, failed]})
    assert idempotency_records(consumer_env["TABLE_NAME"], "invalidate_cache") == []

    monkeypatch.setenv("CACHE_URL", consumer_env["CACHE_URL"])
    wiring.reset()
    assert invalidate({"Records": [sqs_record(message)]}) == {"batchItemFailures": []}  # the retry applies it
    assert cached(consumer_env, product["product_id"]) == "2|evicted"


def test_backstop_repairs_a_write_that_missed_the_cache(api: Api, topic: dict[str, str],
                                                        consumer_env: dict[str, str], dead_cache_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """PATCH while the cache is unreachable leaves v1 cached; the event pipeline brings the cache to v2."""
    pid = api.new_product()["product_id"]
    assert api.get(pid).headers["x-cache"] == "MISS"  # v1 cached
    monkeypatch.setenv("CACHE_URL", dead_cache_url)
    wiring.reset()
    assert api.patch(pid, {"name": "Patched"}).json["version"] == 2
    monkeypatch.setenv("CACHE_URL", consumer_env["CACHE_URL"])
    wiring.reset()
    assert cached(consumer_env, pid).startswith("1|")  # stale until the consumer runs

    assert publish(stream_event(outbox_records(consumer_env["TABLE_NAME"]))) == {"batchItemFailures": []}
    assert invalidate(sqs_event_from_queue(topic["invalidate"])) == {"batchItemFailures": []}
    got = api.get(pid)  # v1 evicted: read from the table, then cached
    assert (got.headers["x-cache"], got.json["version"], got.json["name"]) == ("MISS", 2, "Patched")
    got = api.get(pid)
    assert (got.headers["x-cache"], got.json["version"], got.json["name"]) == ("HIT", 2, "Patched")
