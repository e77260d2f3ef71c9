"""Event source mappings with fake AWS clients and a fake runtime: record shapes, filtering, partial batch
responses, retries with bisection, and the stream on-failure destination."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from bazaar.manifest import Function, QueueSource, StreamSource
from local.provision import Queue
from local.runtime import InvokeResult
from local.sqs_poller import SqsPoller, failed_item_ids, lambda_sqs_record
from local.stream_poller import StreamPoller, first_failed_index, lambda_stream_record, matches_filter

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2024"
QUEUE = Queue("http://sqs/q", "arn:aws:sqs:eu-west-1:123456789012:q")


class FakeRuntime:
    def __init__(self, behaviour: Callable[[dict[str, Any]], InvokeResult]) -> None:
        self.behaviour, self.events = behaviour, []

    def invoke(self, name: str, event: dict[str, Any]) -> InvokeResult:
        self.events.append(event)
        return self.behaviour(event)


class FakeSqs:
    def __init__(self) -> None:
        self.sent, self.deleted, self.visibility = [], [], []

    def send_message(self, **kw: Any) -> None:
        self.sent.append(kw)

    def delete_message_batch(self, QueueUrl: str, Entries: list) -> None:
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)

    def change_message_visibility(self, **kw: Any) -> None:
        self.visibility.append(kw)


def raw_stream_record(seq: int, pk: str, name: str = "INSERT") -> dict[str, Any]:
    return {"eventID": f"e{seq}", "eventName": name, "eventVersion": "1.0", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": datetime(2024, 1, 1, tzinfo=timezone.utc),
                         "Keys": {"PK": {"S": pk}, "SK": {"S": "EVENT"}},
                         "NewImage": {"PK": {"S": pk}, "SK": {"S": "EVENT"}, "blob": {"B": b"\x00\x01"}},
                         "SequenceNumber": f"{seq:021d}", "SizeBytes": 42, "StreamViewType": "NEW_AND_OLD_IMAGES"}}


# --- SQS ------------------------------------------------------------------------------------------------------

def test_sqs_record_shape():
    message = {"MessageId": "m1", "ReceiptHandle": "rh", "Body": "{}", "MD5OfBody": "md5",
               "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
               "MessageAttributes": {"type": {"StringValue": "ProductCreated", "DataType": "String"},
                                     "bin": {"BinaryValue": b"\x01", "DataType": "Binary"}}}
    record = lambda_sqs_record(message, QUEUE.arn)
    assert record == {
        "messageId": "m1", "receiptHandle": "rh", "body": "{}",
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "messageAttributes": {
            "type": {"stringValue": "ProductCreated", "stringListValues": [], "binaryListValues": [],
                     "dataType": "String"},
            "bin": {"binaryValue": "AQ==", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"}},
        "md5OfBody": "md5", "eventSource": "aws:sqs", "eventSourceARN": QUEUE.arn, "awsRegion": "eu-west-1"}


@pytest.mark.parametrize("payload,expected", [
    (None, set()), ({}, set()), ({"batchItemFailures": []}, set()), ({"batchItemFailures": None}, set()),
    ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
    ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b", "c"}),  # unknown id: whole batch
    ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b", "c"}),
    ({"batchItemFailures": [{}]}, {"a", "b", "c"}),
    ({"batchItemFailures": "b"}, {"a", "b", "c"}),
])
def test_sqs_partial_batch_response(payload, expected):
    assert failed_item_ids(InvokeResult(True, payload), ["a", "b", "c"]) == expected


def test_sqs_failed_invoke_fails_the_whole_batch():
    assert failed_item_ids(InvokeResult(False, error={"errorType": "X"}), ["a", "b"]) == {"a", "b"}


def test_sqs_poller_deletes_only_succeeded_messages():
    fn = Function("consumer", "functions.consumer.handler.handler", QueueSource(event_types=("X",)))
    runtime = FakeRuntime(lambda e: InvokeResult(True, {"batchItemFailures": [{"itemIdentifier": "m2"}]}))
    sqs = FakeSqs()
    poller = SqsPoller(fn, QUEUE, sqs, runtime, threading.Event(), lambda s: None, retry_visibility_s=0)
    messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"rh{i}", "Body": "x"} for i in (1, 2, 3)]
    poller._process(messages)
    assert sorted(sqs.deleted) == ["rh1", "rh3"]
    assert [v["ReceiptHandle"] for v in sqs.visibility] == ["rh2"]  # retry knob: visible again sooner
    assert [r["messageId"] for r in runtime.events[0]["Records"]] == ["m1", "m2", "m3"]


# --- streams ----------------------------------------------------------------------------------------------------

def test_stream_record_shape():
    record = lambda_stream_record(raw_stream_record(7, "OUTBOX#1"), STREAM_ARN)
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventSourceARN"] == STREAM_ARN
    assert record["eventVersion"] == "1.1"
    ddb = record["dynamodb"]
    assert ddb["ApproximateCreationDateTime"] == datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
    assert ddb["NewImage"]["blob"] == {"B": "AAE="}
    assert ddb["SequenceNumber"] == f"{7:021d}" and ddb["SizeBytes"] == 42
    json.dumps(record)


@pytest.mark.parametrize("record,ok", [
    (raw_stream_record(1, "OUTBOX#e1"), True),
    (raw_stream_record(1, "PRODUCT#p1"), False),
    (raw_stream_record(1, "OUTBOX#e1", "MODIFY"), False),
    (raw_stream_record(1, "OUTBOX#e1", "REMOVE"), False),
])
def test_stream_filter(record, ok):
    assert matches_filter(record, "OUTBOX#") is ok


def test_first_failed_index():
    batch = [lambda_stream_record(raw_stream_record(i, "OUTBOX#"), STREAM_ARN) for i in (1, 2, 3)]
    seq = lambda i: f"{i:021d}"
    assert first_failed_index(InvokeResult(True, None), batch) is None
    assert first_failed_index(InvokeResult(True, {"batchItemFailures": []}), batch) is None
    assert first_failed_index(InvokeResult(True, {"batchItemFailures": [{"itemIdentifier": seq(3)},
                                                                       {"itemIdentifier": seq(2)}]}), batch) == 1
    assert first_failed_index(InvokeResult(True, {"batchItemFailures": [{"itemIdentifier": "x"}]}), batch) == 0
    assert first_failed_index(InvokeResult(False, error={}), batch) == 0


def stream_poller(behaviour, retry_attempts=2, bisect=True, batch_size=10):
    fn = Function("publisher", "functions.publisher.handler.handler",
                  StreamSource(pk_prefix="OUTBOX#", batch_size=batch_size, retry_attempts=retry_attempts,
                               bisect_batch_on_error=bisect))
    runtime, sqs = FakeRuntime(behaviour), FakeSqs()
    poller = StreamPoller(fn, STREAM_ARN, None, sqs, QUEUE, runtime, threading.Event(), lambda s: None)
    poller._shard_id = "shardId-1"
    return poller, runtime, sqs


def seqs_of(event):
    return [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]


def test_stream_filters_batches_and_checkpoints():
    poller, runtime, sqs = stream_poller(lambda e: InvokeResult(True, None), batch_size=2)
    records = [raw_stream_record(1, "OUTBOX#a"), raw_stream_record(2, "PRODUCT#p"), raw_stream_record(3, "OUTBOX#b"),
               raw_stream_record(4, "OUTBOX#c", "REMOVE"), raw_stream_record(5, "OUTBOX#d")]
    poller._handle_page(records)
    assert [seqs_of(e) for e in runtime.events] == [[1, 3], [5]]
    assert poller.checkpoint == f"{5:021d}"
    assert sqs.sent == []


def test_stream_poison_record_is_bisected_retried_then_sent_to_the_dlq():
    poison = 3

    def behaviour(event):
        return InvokeResult(False, error={"errorType": "X"}) if poison in seqs_of(event) else InvokeResult(True)

    poller, runtime, sqs = stream_poller(behaviour, retry_attempts=2)
    poller._handle_page([raw_stream_record(i, f"OUTBOX#{i}") for i in range(1, 6)])
    delivered_ok = {s for e in runtime.events if poison not in seqs_of(e) for s in seqs_of(e)}
    assert delivered_ok == {1, 2, 4, 5}  # the good records got through
    assert len(sqs.sent) == 1
    info = json.loads(sqs.sent[0]["MessageBody"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["startSequenceNumber"] == f"{poison:021d}"
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert info["DDBStreamBatchInfo"]["streamArn"] == STREAM_ARN
    assert poller.checkpoint == f"{5:021d}"  # and the poller moved on
    assert len(runtime.events) <= 8


def test_stream_partial_failure_retries_from_the_failed_record():
    calls = []

    def behaviour(event):
        calls.append(seqs_of(event))
        if len(calls) == 1:
            return InvokeResult(True, {"batchItemFailures": [{"itemIdentifier": f"{3:021d}"}]})
        return InvokeResult(True, {"batchItemFailures": []})

    poller, runtime, sqs = stream_poller(behaviour, bisect=False)
    poller._handle_page([raw_stream_record(i, f"OUTBOX#{i}") for i in range(1, 6)])
    assert calls == [[1, 2, 3, 4, 5], [3, 4, 5]]
    assert sqs.sent == []


def test_stream_without_bisect_retries_the_whole_batch():
    poller, runtime, sqs = stream_poller(lambda e: InvokeResult(False, error={}), retry_attempts=3, bisect=False)
    poller._handle_page([raw_stream_record(i, f"OUTBOX#{i}") for i in (1, 2)])
    assert [seqs_of(e) for e in runtime.events] == [[1, 2]] * 4  # first attempt + 3 retries
    assert json.loads(sqs.sent[0]["MessageBody"])["DDBStreamBatchInfo"]["batchSize"] == 2
