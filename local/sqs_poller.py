"""The SQS event source mapping of one queue consumer.

Long-polls the consumer's queue (1 s waits, so shutdown is quick), builds Lambda's SQS event, invokes, and
honours ``batchItemFailures`` (ReportBatchItemFailures): succeeded messages are deleted, failed ones are left
to reappear after the visibility timeout; an error of the whole invoke fails the whole batch. After
``maxReceiveCount`` receives, SQS itself (moto) moves the message to the DLQ, exactly like AWS.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any, Callable, Optional

from bazaar.manifest import Function
from local.batch_response import failed_item_ids
from local.config import REGION
from local.provision import Queue
from local.runtime import LambdaRuntime

LONG_POLL_S = 1


def lambda_message_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """SQS API shape -> Lambda event shape (camelCase, list fields always present)."""
    out = {}
    for name, a in attrs.items():
        value: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": a["DataType"]}
        if "StringValue" in a:
            value["stringValue"] = a["StringValue"]
        if "BinaryValue" in a:
            raw = a["BinaryValue"]
            value["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
        out[name] = value
    return out


def lambda_sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = {k: v for k, v in (message.get("Attributes") or {}).items()}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


class SqsPoller(threading.Thread):
    def __init__(self, fn: Function, queue: Queue, sqs: Any, runtime: LambdaRuntime, stop: threading.Event,
                 log: Callable[[str], None], retry_visibility_s: Optional[int] = None) -> None:
        super().__init__(name=f"sqs-{fn.name}", daemon=True)
        assert fn.queue is not None
        self.fn, self.source, self.queue, self.sqs, self.runtime = fn, fn.queue, queue, sqs, runtime
        self._stop_event, self._log, self._retry_visibility_s = stop, log, retry_visibility_s

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                messages = self._collect()
                if messages:
                    self._process(messages)
            except Exception as exc:  # moto going away at shutdown, or a transient error: keep polling
                if self._stop_event.is_set():
                    return
                self._log(f"sqs    {self.fn.name}: poll error {type(exc).__name__}: {exc}")
                self._stop_event.wait(1.0)

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.queue.url, MaxNumberOfMessages=max(1, min(10, count)), WaitTimeSeconds=wait_s,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])

    def _collect(self) -> list[dict[str, Any]]:
        """One batch: up to batch_size messages, waiting at most the batching window once the first arrived."""
        messages = self._receive(self.source.batch_size, LONG_POLL_S)
        if not messages:
            return []
        window_end = time.monotonic() + self.source.max_batching_window_s
        while len(messages) < self.source.batch_size and not self._stop_event.is_set():
            left = window_end - time.monotonic()
            if left <= 0:
                break
            more = self._receive(self.source.batch_size - len(messages), min(LONG_POLL_S, int(left)))
            messages.extend(more)
            if not more and left < 1:  # short poll came back empty: don't spin until the window closes
                self._stop_event.wait(min(left, 0.1))
        return messages

    def _process(self, messages: list[dict[str, Any]]) -> None:
        records = [lambda_sqs_record(m, self.queue.arn) for m in messages]
        result = self.runtime.invoke(self.fn.name, {"Records": records})
        if not result.ok and self._stop_event.is_set():
            return  # cut short by shutdown: the messages simply reappear next time, as after any failure
        ids = [m["MessageId"] for m in messages]
        failed = failed_item_ids(result, ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self.sqs.delete_message_batch(QueueUrl=self.queue.url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])])
        if failed and self._retry_visibility_s is not None:  # dev knob: retry sooner than the queue's timeout
            for m in messages:
                if m["MessageId"] in failed:
                    self.sqs.change_message_visibility(QueueUrl=self.queue.url, ReceiptHandle=m["ReceiptHandle"],
                                                       VisibilityTimeout=self._retry_visibility_s)
        note = "cold" if result.cold else "warm"
        if not result.ok:
            note += f" {result.error_type}"
        self._log(f"sqs    {self.fn.name}: {len(messages)} msg -> {len(done)} ok, {len(failed)} failed "
                  f"{result.duration_ms:.0f}ms {note}")
