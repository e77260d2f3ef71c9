"""The DynamoDB Streams event source mapping of one stream consumer.

- Polls 4x a second with a **fresh shard iterator per poll** from its own checkpoint (AFTER_SEQUENCE_NUMBER,
  or TRIM_HORIZON/LATEST at first): moto orphans chained iterators after a cancelled transaction (recipes §3).
- Applies the manifest's filter like Lambda filter criteria (INSERT + ``PK`` prefix); filtered-out records
  are skipped (and checkpointed past).
- Batches of ``batch_size``; on error retries up to ``retry_attempts``, bisecting the batch when enabled;
  ``batchItemFailures`` (SequenceNumber) checkpoints up to the failed record and retries from it; when retries
  are exhausted, sends Lambda's on-failure record (``DDBStreamBatchInfo``) to the consumer's DLQ and moves on.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from bazaar import resources
from bazaar.manifest import Function
from local.batch_response import failed_item_ids
from local.config import REGION, function_arn
from local.provision import Queue
from local.runtime import InvokeResult, LambdaRuntime

POLL_INTERVAL_S = 0.25
MAX_RECORDS_PER_READ = 1000
REPORT_INTERVAL_S = 1.0
THROTTLE_PAUSE_S = 0.5


class CheckpointReporter:
    """Tells the local moto server which stream consumers exist and how far each has got (its control routes)."""

    def __init__(self, moto_url: str, timeout_s: float = 2.0) -> None:
        self._base, self._timeout = moto_url.rstrip("/") + "/_bazaar/streams/", timeout_s

    def _post(self, route: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(self._base + route, data=json.dumps(body).encode(), method="POST",
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            response.read()

    def register(self, stream_arn: str, consumers: list[str]) -> None:
        """Before any consumer polls: records are kept until every one of them has passed them."""
        self._post("consumers", {"stream_arn": stream_arn, "consumers": consumers})

    def report(self, stream_arn: str, consumer: str, sequence_number: str) -> None:
        self._post("checkpoint", {"stream_arn": stream_arn, "consumer": consumer, "sequence_number": sequence_number})


def _plain(value: Any) -> Any:
    """AttributeValues as JSON (boto3 gives bytes for B/BS)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def _epoch(value: Any) -> Any:
    return value.timestamp() if isinstance(value, datetime) else value


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda hands to the function."""
    src = record.get("dynamodb", {})
    ddb: dict[str, Any] = {}
    if "ApproximateCreationDateTime" in src:
        ddb["ApproximateCreationDateTime"] = _epoch(src["ApproximateCreationDateTime"])
    for key in ("Keys", "NewImage", "OldImage"):
        if key in src:
            ddb[key] = _plain(src[key])
    for key in ("SequenceNumber", "SizeBytes", "StreamViewType"):
        if key in src:
            ddb[key] = src[key]
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,  # moto hard-codes us-east-1
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
        # TTL deletions carry the DynamoDB service as their identity (camelCase in Lambda's event)
        **({"userIdentity": {"type": record["userIdentity"].get("Type"),
                             "principalId": record["userIdentity"].get("PrincipalId")}}
           if "userIdentity" in record else {}),
    }


def matches_filter(record: dict[str, Any], pk_prefix: str, pk_name: str = resources.TABLE.pk) -> bool:
    """The manifest's filter as Lambda filter criteria:
    ``{"eventName": ["INSERT"], "dynamodb": {"Keys": {"PK": {"S": [{"prefix": pk_prefix}]}}}}``."""
    if record.get("eventName") != "INSERT":
        return False
    pk = record.get("dynamodb", {}).get("Keys", {}).get(pk_name, {}).get("S")
    return isinstance(pk, str) and pk.startswith(pk_prefix)


def first_failed_index(result: InvokeResult, batch: list[dict[str, Any]]) -> Optional[int]:
    """None: all succeeded. Else the index to retry from (0 = whole batch)."""
    seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
    failed = failed_item_ids(result, seqs)
    return min(seqs.index(s) for s in failed) if failed else None


class StreamPoller(threading.Thread):
    def __init__(self, fn: Function, stream_arn: str, streams: Any, sqs: Any, dlq: Queue, runtime: LambdaRuntime,
                 stop: threading.Event, log: Callable[[str], None],
                 reporter: Optional[CheckpointReporter] = None) -> None:
        super().__init__(name=f"stream-{fn.name}", daemon=True)
        assert fn.stream is not None
        self.fn, self.source = fn, fn.stream
        self.stream_arn, self.streams, self.sqs, self.dlq, self.runtime = stream_arn, streams, sqs, dlq, runtime
        self._stop_event, self._log = stop, log
        self.checkpoint: Optional[str] = None  # last sequence number fully handled
        self._shard_id: Optional[str] = None
        self._positioned = self.source.starting_position == "TRIM_HORIZON"
        self._reporter = reporter
        self._reported: Optional[str] = None
        self._reported_at = 0.0

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                records = self._read()
                if not self._positioned:  # LATEST: start after whatever is in the stream now
                    if records:
                        self.checkpoint = records[-1]["dynamodb"]["SequenceNumber"]
                    self._positioned = len(records) < MAX_RECORDS_PER_READ
                    continue
                if records:
                    self._handle_page(records)
                    self._report_checkpoint(caught_up=False)
                    continue  # more may be waiting: read again at once
                self._report_checkpoint(caught_up=True)
            except Exception as exc:
                if self._stop_event.is_set():
                    return
                self._shard_id = None  # re-describe next time
                response = getattr(exc, "response", None)
                code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
                if code == "TrimmedDataAccessException":
                    self._log(f"stream {self.fn.name}: records after {self.checkpoint} are past the stream's "
                              f"retention and lost; restarting at the oldest record")
                    self.checkpoint = None
                    continue
                self._log(f"stream {self.fn.name}: poll error {type(exc).__name__}: {exc}")
                self._stop_event.wait(1.0)
                continue
            self._stop_event.wait(POLL_INTERVAL_S)

    def _report_checkpoint(self, caught_up: bool) -> None:
        """At once when caught up, else at most every ``REPORT_INTERVAL_S``; a failed report is retried later."""
        if self._reporter is None or self.checkpoint is None or self.checkpoint == self._reported:
            return
        now = time.monotonic()
        if not caught_up and now - self._reported_at < REPORT_INTERVAL_S:
            return
        self._reported_at = now
        try:
            self._reporter.report(self.stream_arn, self.fn.name, self.checkpoint)
        except OSError as exc:
            self._log(f"stream {self.fn.name}: checkpoint report failed: {exc}")
            return
        self._reported = self.checkpoint

    def _read(self) -> list[dict[str, Any]]:
        if self._shard_id is None:
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            self._shard_id = shards[-1]["ShardId"]
        kw: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self._shard_id}
        if self.checkpoint:
            kw.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.checkpoint)
        else:
            kw.update(ShardIteratorType="TRIM_HORIZON")
        iterator = self.streams.get_shard_iterator(**kw)["ShardIterator"]
        return self.streams.get_records(ShardIterator=iterator, Limit=MAX_RECORDS_PER_READ)["Records"]

    def _handle_page(self, records: list[dict[str, Any]]) -> None:
        pending: list[dict[str, Any]] = []
        for record in records:
            if self._stop_event.is_set():
                return
            if matches_filter(record, self.source.pk_prefix):
                pending.append(lambda_stream_record(record, self.stream_arn))
                if len(pending) >= self.source.batch_size:
                    self._handle(pending, 0)
                    pending = []
            if not pending:
                self.checkpoint = record["dynamodb"]["SequenceNumber"]
        if pending and not self._stop_event.is_set():
            self._handle(pending, 0)
        if not self._stop_event.is_set():
            self.checkpoint = records[-1]["dynamodb"]["SequenceNumber"]

    def _handle(self, batch: list[dict[str, Any]], attempt: int) -> None:
        invokes = 0
        while batch and not self._stop_event.is_set():
            result = self.runtime.invoke(self.fn.name, {"Records": batch})
            if not result.ok and self._stop_event.is_set():
                return  # cut short by shutdown: not checkpointed, so nothing is lost
            if result.throttled:  # the event source mapping retries throttles; they use up no attempt
                self._stop_event.wait(THROTTLE_PAUSE_S)
                continue
            invokes += 1
            failed_at = first_failed_index(result, batch)
            note = ("cold" if result.cold else "warm") + (f" {result.error_type}" if not result.ok else "")
            self._log(f"stream {self.fn.name}: {len(batch)} rec -> "
                      f"{'ok' if failed_at is None else f'failed from #{failed_at}'} {result.duration_ms:.0f}ms {note}")
            if failed_at is None:
                return
            batch = batch[failed_at:]  # records before the failed one are checkpointed
            attempt += 1
            if attempt > self.source.retry_attempts:
                self._send_to_dlq(batch, result, invokes)
                return
            if self.source.bisect_batch_on_error and len(batch) > 1:
                mid = len(batch) // 2
                self._handle(batch[:mid], attempt)
                self._handle(batch[mid:], attempt)
                return
            self._stop_event.wait(min(0.1 * 2 ** attempt, 2.0))  # back off a little between retries

    def _send_to_dlq(self, batch: list[dict[str, Any]], result: InvokeResult, invokes: int) -> None:
        """Lambda's on-failure destination record for stream sources: batch metadata, not the records."""
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        iso = lambda t: datetime.fromtimestamp(float(t), tz=timezone.utc).isoformat(timespec="milliseconds")
        record = {
            "requestContext": {"requestId": result.request_id or str(uuid.uuid4()),
                               "functionArn": function_arn(self.fn.name),
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": invokes},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled" if not result.ok else "PartialBatchFailure"},
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": self._shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": iso(first.get("ApproximateCreationDateTime", 0)),
                "approximateArrivalOfLastRecord": iso(last.get("ApproximateCreationDateTime", 0)),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.dlq.url, MessageBody=json.dumps(record))
        self._log(f"stream {self.fn.name}: {len(batch)} rec -> retries exhausted, sent to DLQ")
