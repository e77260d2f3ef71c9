"""The local moto fixes (local/moto_patches.py, local/moto_control.py) against a real moto server.

The session's moto server runs in this process with the fixes applied (tests/conftest.py), so the tests also
look at moto's backend directly: what it retains is the point of several of them."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local import moto_control, moto_patches
from local.stream_poller import lambda_stream_record
from tests.support.aws import create_table

ACCOUNT, REGION = "123456789012", "eu-west-1"


def backend_table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT][REGION].tables[name]


def key(pk: str, sk: str = "META") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def item(pk: str, sk: str = "META", **attrs: Any) -> dict[str, Any]:
    return {**key(pk, sk), **{k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in attrs.items()}}


@pytest.fixture
def ddb(aws) -> Any:
    client = boto3.client("dynamodb")
    create_table(client, "t")
    return client


def fill(ddb: Any, table: str, count: int) -> None:
    for start in range(0, count, 25):
        ddb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": item(f"P{i}", name=f"n{i}", stock=5, GSI1PK="PRODUCTS", GSI1SK=f"{i:06d}")}}
            for i in range(start, min(count, start + 25))]})


def scan(ddb: Any, table: str = "t") -> list[dict[str, Any]]:
    return sorted(ddb.scan(TableName=table)["Items"], key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def stream_length(table: str = "t") -> int:
    shard = backend_table(table).stream_shard
    return shard.starting_sequence_number + len(shard.items)


def order(ddb: Any, table: str, pid: str, oid: str, stock_at_least: int = 1, old: bool = False) -> None:
    """An order-like transaction: a conditional stock update, the order, its outbox event."""
    update: dict[str, Any] = {"TableName": table, "Key": key(pid), "UpdateExpression": "SET stock = stock - :q",
                              "ConditionExpression": "stock >= :min",
                              "ExpressionAttributeValues": {":q": {"N": "1"}, ":min": {"N": str(stock_at_least)}}}
    if old:
        update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    ddb.transact_write_items(TransactItems=[
        {"Update": update},
        {"Put": {"TableName": table, "Item": item(f"ORDER#{oid}"), "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Put": {"TableName": table, "Item": item(f"OUTBOX#{oid}", payload="{}")}},
    ])


# --- (1) transactions cost what they touch -------------------------------------------------------------------

def test_a_transaction_costs_the_same_in_a_big_table_as_in_a_small_one(aws) -> None:
    """moto deep-copied every touched table per transaction: with 3,000 items that was ~30x a 100-item table."""
    ddb = boto3.client("dynamodb")
    create_table(ddb, "small")
    create_table(ddb, "big")
    fill(ddb, "small", 100)
    fill(ddb, "big", 3000)
    timings: dict[str, list[float]] = {"small": [], "big": []}
    for n in range(40):  # interleaved, so both sides see the same machine
        for table in ("small", "big"):
            t0 = time.perf_counter()
            order(ddb, table, f"P{n}", f"{table}{n}")
            timings[table].append(time.perf_counter() - t0)
    ratio = statistics.median(timings["big"]) / statistics.median(timings["small"])
    assert ratio <= 1.5, f"a transaction on 3,000 items took {ratio:.1f}x one on 100"


def test_a_cancelled_transaction_changes_nothing_and_says_why(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("P1", stock=0, name="lamp"))
    ddb.put_item(TableName="t", Item=item("P2", stock=3))
    before, records = scan(ddb), stream_length()
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": item("ORDER#o1")}},
            {"Update": {"TableName": "t", "Key": key("P1"), "UpdateExpression": "SET stock = stock - :q",
                        "ConditionExpression": "stock >= :q", "ExpressionAttributeValues": {":q": {"N": "1"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Delete": {"TableName": "t", "Key": key("P2")}},
        ])
    response = err.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["Error"]["Message"] == ("Transaction cancelled, please refer cancellation reasons for specific "
                                            "reasons [None, ConditionalCheckFailed, None]")
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
         "Item": item("P1", stock=0, name="lamp")},
        {"Code": "None"},
    ]
    assert scan(ddb) == before
    assert stream_length() == records  # no stream record of the writes that never happened


def test_a_failed_condition_without_return_values_has_no_item(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("P1", stock=0))
    with pytest.raises(ClientError) as err:
        order(ddb, "t", "P1", "o1")
    assert err.value.response["CancellationReasons"][0] == {
        "Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}


def test_a_write_step_that_fails_undoes_the_steps_before_it(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("P1", name="not a number"))
    ddb.put_item(TableName="t", Item=item("P2", stock=3))
    before, records = scan(ddb), stream_length()
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": item("ORDER#o1")}},
            {"Update": {"TableName": "t", "Key": key("P2"), "UpdateExpression": "SET stock = stock - :q",
                        "ExpressionAttributeValues": {":q": {"N": "1"}}}},
            {"Update": {"TableName": "t", "Key": key("P1"), "UpdateExpression": "SET #n = #n + :q",
                        "ExpressionAttributeNames": {"#n": "name"}, "ExpressionAttributeValues": {":q": {"N": "1"}}}},
        ])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert scan(ddb) == before
    assert stream_length() == records


def test_two_operations_on_one_item_are_refused(ddb) -> None:
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": item("P1")}},
                                                {"Delete": {"TableName": "t", "Key": key("P1")}}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert scan(ddb) == []


def test_a_committed_transaction_writes_everything_and_its_stream_records(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("P1", stock=2))
    records = stream_length()
    order(ddb, "t", "P1", "o1")
    assert [i["PK"]["S"] for i in scan(ddb)] == ["ORDER#o1", "OUTBOX#o1", "P1"]
    assert ddb.get_item(TableName="t", Key=key("P1"))["Item"]["stock"] == {"N": "1"}
    assert stream_length() == records + 3


# --- isolation --------------------------------------------------------------------------------------------------

def _concurrently(*work: Any) -> None:
    errors: list[BaseException] = []

    def run(fn: Any) -> None:
        try:
            fn()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_cancelled_transactions_never_undo_other_writes(ddb) -> None:
    """moto restored a snapshot of the whole table when a transaction was cancelled: a PutItem that landed between
    the snapshot and the restore was lost."""
    ddb.put_item(TableName="t", Item=item("P1", stock=0))
    ddb.put_item(TableName="t", Item=item("BIG", payload="x" * 20000))  # makes each snapshot slow: a wide window

    def writer() -> None:
        client = boto3.client("dynamodb")
        for n in range(150):
            client.put_item(TableName="t", Item=item(f"W{n}"))

    def canceller() -> None:
        client = boto3.client("dynamodb")
        for n in range(150):
            with pytest.raises(ClientError):
                order(client, "t", "P1", f"c{n}")

    _concurrently(writer, canceller, canceller)
    written = {i["PK"]["S"] for i in scan(ddb) if i["PK"]["S"].startswith("W")}
    assert len(written) == 150


def test_a_transaction_is_seen_whole_or_not_at_all(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("A", v=0))
    ddb.put_item(TableName="t", Item=item("B", v=0))
    seen: list[tuple[str, str]] = []

    def writer() -> None:
        client = boto3.client("dynamodb")
        for n in range(1, 150):
            client.transact_write_items(TransactItems=[
                {"Update": {"TableName": "t", "Key": key(k), "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": str(n)}}}} for k in ("A", "B")])

    def reader() -> None:
        client = boto3.client("dynamodb")
        for _ in range(150):
            got = client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key(k)}}
                                                           for k in ("A", "B")])["Responses"]
            seen.append((got[0]["Item"]["v"]["N"], got[1]["Item"]["v"]["N"]))

    _concurrently(writer, reader)
    assert all(a == b for a, b in seen), [s for s in seen if s[0] != s[1]][:5]


def test_concurrent_conditional_transactions_have_one_winner(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("P1", stock=1))
    outcomes: list[str] = []

    def buyer(n: int) -> None:
        try:
            order(boto3.client("dynamodb"), "t", "P1", f"o{n}")
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    _concurrently(*[lambda n=n: buyer(n) for n in range(12)])
    assert sorted(outcomes) == ["TransactionCanceledException"] * 11 + ["ok"]
    assert ddb.get_item(TableName="t", Key=key("P1"))["Item"]["stock"] == {"N": "0"}


# --- queries ----------------------------------------------------------------------------------------------------

def _page(ddb: Any, index: str, partition: str, **kw: Any) -> list[str]:
    pk = "GSI1PK" if index == "GSI1" else "GSI2PK"
    out = ddb.query(TableName="t", IndexName=index, KeyConditionExpression="#p = :p",
                    ExpressionAttributeNames={"#p": pk}, ExpressionAttributeValues={":p": {"S": partition}}, **kw)
    return [i["PK"]["S"] for i in out["Items"]]


def test_index_queries_follow_every_kind_of_write(ddb) -> None:
    fill(ddb, "t", 30)  # P0..P29 in GSI1 "PRODUCTS", GSI1SK = index
    assert _page(ddb, "GSI1", "PRODUCTS", ScanIndexForward=False, Limit=3) == ["P29", "P28", "P27"]
    ddb.update_item(TableName="t", Key=key("P29"), UpdateExpression="SET GSI1PK = :o",
                    ExpressionAttributeValues={":o": {"S": "ARCHIVE"}})  # moves partitions
    ddb.delete_item(TableName="t", Key=key("P28"))
    ddb.put_item(TableName="t", Item=item("P40", GSI1PK="PRODUCTS", GSI1SK="000040"))
    order(ddb, "t", "P27", "o1")  # a transaction rewrites P27 in place
    with pytest.raises(ClientError):  # a cancelled one that would have moved P26 changes nothing
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": key("P26"), "UpdateExpression": "SET GSI1PK = :o",
                        "ExpressionAttributeValues": {":o": {"S": "ARCHIVE"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": key("P0"), "ConditionExpression": "attribute_not_exists(PK)"}},
        ])
    assert _page(ddb, "GSI1", "PRODUCTS", ScanIndexForward=False, Limit=3) == ["P40", "P27", "P26"]
    assert _page(ddb, "GSI1", "ARCHIVE") == ["P29"]
    assert _page(ddb, "GSI1", "NOTHING") == []
    first = ddb.query(TableName="t", IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
                      ExpressionAttributeValues={":p": {"S": "PRODUCTS"}}, Limit=10)
    rest = ddb.query(TableName="t", IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
                     ExpressionAttributeValues={":p": {"S": "PRODUCTS"}}, ExclusiveStartKey=first["LastEvaluatedKey"])
    names = [i["PK"]["S"] for i in first["Items"] + rest["Items"]]
    assert names == [f"P{i}" for i in range(28) if i != 28] + ["P40"]
    table_query = ddb.query(TableName="t", KeyConditionExpression="PK = :p",
                            ExpressionAttributeValues={":p": {"S": "P5"}})["Items"]
    assert [i["PK"]["S"] for i in table_query] == ["P5"]


def test_a_lookup_of_a_missing_item_leaves_nothing_behind(ddb) -> None:
    ddb.put_item(TableName="t", Item=item("P1"))
    for n in range(50):
        assert "Item" not in ddb.get_item(TableName="t", Key=key(f"missing{n}"))
        ddb.delete_item(TableName="t", Key=key(f"gone{n}"))
    ddb.delete_item(TableName="t", Key=key("P1"))
    assert len(backend_table("t").items) == 0


# --- (2) what moto keeps ----------------------------------------------------------------------------------------

def test_rewriting_one_item_does_not_keep_its_old_versions_alive(ddb) -> None:
    """moto's BaseModel listed every instance it ever made (every item version, stream record, iterator)."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord

    ddb.put_item(TableName="t", Item=item("P1", stock=1000))
    items_before, records_before = len(Item.instances_tracked), len(StreamRecord.instances_tracked)
    for n in range(200):
        order(ddb, "t", "P1", f"o{n}")
    moto_patches.trim_stream(backend_table("t").stream_shard, through=stream_length())
    # 400 new items are alive (orders and outbox events); the 200 superseded versions of P1 and the 600 trimmed
    # stream records are not
    assert len(Item.instances_tracked) - items_before <= 400 + 5
    assert len(StreamRecord.instances_tracked) - records_before <= 5


def _stream(ddb: Any) -> tuple[Any, str, str]:
    streams = boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    return streams, arn, shard["ShardId"]


def _records(streams: Any, arn: str, shard_id: str, **position: Any) -> list[str]:
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position)["ShardIterator"]
    return [r["dynamodb"]["SequenceNumber"] for r in streams.get_records(ShardIterator=it)["Records"]]


def test_stream_records_are_kept_until_every_consumer_has_passed_them(ddb) -> None:
    streams, arn, shard_id = _stream(ddb)
    first = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["SequenceNumberRange"]
    for n in range(10):
        ddb.put_item(TableName="t", Item=item(f"P{n}"))
    seqs = _records(streams, arn, shard_id, ShardIteratorType="TRIM_HORIZON")
    assert len(seqs) == 10
    consumers = moto_control.StreamConsumers()
    consumers.register(arn, ["publisher", "auditor"])
    assert consumers.report(arn, "publisher", int(seqs[-1])) == 0  # the auditor hasn't started: nothing goes
    assert consumers.report(arn, "auditor", int(seqs[4])) == 5  # both passed the first five
    assert _records(streams, arn, shard_id, ShardIteratorType="TRIM_HORIZON") == seqs[5:]
    assert _records(streams, arn, shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=seqs[4]) == seqs[5:]  # the auditor's next poll
    with pytest.raises(ClientError) as err:
        _records(streams, arn, shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=seqs[2])
    assert err.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    # the shard's range still starts where it always did; new records keep counting on
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["SequenceNumberRange"] == first
    ddb.put_item(TableName="t", Item=item("P10"))
    assert _records(streams, arn, shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[-1]) == [
        str(int(seqs[-1]) + 1)]


def test_stream_records_older_than_24_hours_are_trimmed(ddb) -> None:
    from moto.core.utils import utcnow

    for n in range(3):
        ddb.put_item(TableName="t", Item=item(f"P{n}"))
    shard = backend_table("t").stream_shard
    assert moto_patches.trim_stream(shard, now=utcnow() + timedelta(hours=23)) == 0
    assert moto_patches.trim_stream(shard, now=utcnow() + timedelta(hours=24, seconds=1)) == 3
    assert shard.items == []


def test_expired_items_are_deleted_as_dynamodb_ttl_does(ddb) -> None:
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    now = int(time.time())
    ddb.put_item(TableName="t", Item=item("expired", ttl=now - 10))
    ddb.put_item(TableName="t", Item=item("alive", ttl=now + 3600))
    ddb.put_item(TableName="t", Item=item("ancient", ttl=now - 6 * 365 * 24 * 3600))  # DynamoDB ignores these
    ddb.put_item(TableName="t", Item=item("text", ttl="yesterday"))  # not a Number: never expires
    ddb.put_item(TableName="t", Item=item("none"))
    streams, arn, shard_id = _stream(ddb)
    assert moto_control.expire_ttl_items() == 1
    assert [i["PK"]["S"] for i in scan(ddb)] == ["alive", "ancient", "none", "text"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    removal = streams.get_records(ShardIterator=it["ShardIterator"])["Records"][-1]
    assert removal["eventName"] == "REMOVE"
    assert removal["dynamodb"]["Keys"] == key("expired")
    assert removal["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert lambda_stream_record(removal, arn)["userIdentity"] == {"type": "Service",
                                                                  "principalId": "dynamodb.amazonaws.com"}


def test_the_sweep_trims_for_registered_consumers_and_expires_items(ddb) -> None:
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    ddb.put_item(TableName="t", Item=item("expired", ttl=int(time.time()) - 1))
    streams, arn, shard_id = _stream(ddb)
    consumers = moto_control.StreamConsumers()
    consumers.register(arn, ["publisher"])
    seqs = _records(streams, arn, shard_id, ShardIteratorType="TRIM_HORIZON")
    assert moto_control.sweep(consumers) == {"expired": 1, "trimmed": 0}
    consumers.report(arn, "publisher", int(seqs[-1]))
    assert len(backend_table("t").stream_shard.items) == 1  # the REMOVE the publisher hasn't seen yet


def test_sns_and_sqs_history_is_bounded(aws) -> None:
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="events")["TopicArn"]
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    receipts = []
    for n in range(moto_patches.SNS_HISTORY + 30):
        sns.publish(TopicArn=topic, Message=str(n))
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            receipts.append(m["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=receipts[-1])  # deleting twice still succeeds
    assert len(sns_backends[ACCOUNT][REGION].topics[topic].sent_notifications) == moto_patches.SNS_HISTORY
    deleted = sqs_backends[ACCOUNT][REGION].queues["q"].deleted_messages
    assert receipts[-1] in deleted and len(deleted) <= moto_patches.SQS_DELETED_RECEIPTS


def test_bounded_set_keeps_the_most_recent() -> None:
    kept = moto_patches.BoundedSet(3, ["a", "b"])
    kept.update(["c", "a", "d"])
    assert list(kept) == ["c", "a", "d"] and "b" not in kept and len(kept) == 3


def test_stream_iterators_stay_bounded(aws, monkeypatch) -> None:
    monkeypatch.setattr(moto_patches, "MAX_SHARD_ITERATORS", 20)
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    create_table(ddb, "iterators")
    arn = ddb.describe_table(TableName="iterators")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    for _ in range(60):  # a poller's pattern: a fresh iterator per poll
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        streams.get_records(ShardIterator=it["ShardIterator"])
    backend = dynamodbstreams_backends[ACCOUNT][REGION]
    assert len(backend.shard_iterators) <= 20
    # recent iterators still chain, as on AWS
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    nxt = streams.get_records(ShardIterator=it)["NextShardIterator"]
    assert streams.get_records(ShardIterator=nxt)["Records"] == []


# --- control routes ---------------------------------------------------------------------------------------------

def test_control_routes(ddb) -> None:
    from werkzeug.test import Client

    moto_seen: list[str] = []

    def moto_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        moto_seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"moto"]

    consumers = moto_control.StreamConsumers()
    client = Client(moto_control.control_app(moto_app, consumers))
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    ddb.put_item(TableName="t", Item=item("P1"))
    seq = moto_patches.first_sequence_number(backend_table("t").stream_shard)
    assert client.post("/_bazaar/streams/consumers", json={"stream_arn": arn, "consumers": ["c"]}).status_code == 204
    answer = client.post("/_bazaar/streams/checkpoint", json={"stream_arn": arn, "consumer": "c",
                                                              "sequence_number": str(seq)})
    assert answer.status_code == 200 and answer.json == {"trimmed": 1}
    stats = client.get("/_bazaar/stats").json
    assert stats["tables"]["t"] == {"items": 1, "partitions": 1, "stream_records": 0, "stream_trimmed": 1}
    assert stats["live_models"]["dynamodb.Item"] >= 1 and stats["rss_kib"] > 0
    assert client.post("/_bazaar/sweep").json == {"expired": 0, "trimmed": 0}
    assert client.post("/_bazaar/streams/checkpoint", json={"consumer": "c"}).status_code == 400
    assert client.get("/_bazaar/nothing").status_code == 404
    assert client.get("/t/anything").data == b"moto" and moto_seen == ["/t/anything"]
