"""Dead-letter queues: list them with depth and oldest message age, and move their messages back.

The same code runs against a deployed stage and the local stack; only where the queues are and how messages move
differ (``Target``):

| DLQ | holds | redrive |
|---|---|---|
| a queue consumer's DLQ | messages the consumer failed ``maxReceiveCount`` times | back to its queue: an SQS message-move task in AWS; receive, send, delete locally (moto has no move tasks) |
| a queue consumer's delivery DLQ | messages SNS could not deliver to the queue | back to the queue (an SNS envelope is unwrapped first) |
| the stream relay's DLQ | Lambda's on-failure records: batch metadata, not the events | the outbox items of each failed batch are re-inserted into the table (kept 7 days), and the relay publishes them again through the stream |

Every consumer is idempotent on the event id, so moving back a message that was partly applied, or re-publishing an
event that did get out, has no second effect.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from bazaar import manifest, resources
from bazaar.manifest import Function

STREAM_WINDOW_BEFORE = timedelta(minutes=2)  # an event's time is taken just before its transaction commits
STREAM_WINDOW_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Dlq:
    consumer: str
    kind: str  # queue | delivery | stream
    url: str
    source_url: Optional[str]  # where its messages go back to (queue kinds)


@dataclass(frozen=True)
class Row:
    dlq: Dlq
    depth: int  # visible + in flight
    oldest_age_s: Optional[float]


class Target:
    """Where the queues are. ``local``: the running local stack (``.local/stack.json``); else an AWS stage."""

    def __init__(self, stage: str, sqs: Any, cloudwatch: Any, table_name: str, dlqs: list[Dlq],
                 move_tasks: bool) -> None:
        self.stage, self.sqs, self.cloudwatch, self.table_name = stage, sqs, cloudwatch, table_name
        self.dlqs, self.move_tasks = dlqs, move_tasks

    @classmethod
    def local(cls, stack: dict[str, Any]) -> "Target":
        # Functions' and tools' SDK calls go to moto with dummy credentials, as in the local stack itself.
        os.environ.update(AWS_ENDPOINT_URL=stack["aws_endpoint_url"], AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
                          AWS_REGION=stack["region"], AWS_DEFAULT_REGION=stack["region"])
        import boto3

        sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
        dlqs = []
        for name, q in stack["queues"].items():
            dlqs.append(Dlq(name, "queue", q["dlq_url"], q["url"]))
            if name in stack.get("delivery_dlqs", {}):
                dlqs.append(Dlq(name, "delivery", stack["delivery_dlqs"][name], q["url"]))
        for fn in manifest.stream_consumers():
            dlqs.append(Dlq(fn.name, "stream", stack["dlqs"][fn.name], None))
        return cls("local", sqs, None, stack["table_name"], dlqs, move_tasks=False)

    @classmethod
    def aws(cls, stage: str, region: Optional[str] = None) -> "Target":
        import boto3

        session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or "eu-west-1")
        sqs = session.client("sqs")

        def url(name: str) -> str:
            return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])

        dlqs = []
        for fn in manifest.queue_consumers():
            source = url(resources.queue_name(stage, fn))
            dlqs.append(Dlq(fn.name, "queue", url(resources.dlq_name(stage, fn)), source))
            dlqs.append(Dlq(fn.name, "delivery", url(resources.delivery_dlq_name(stage, fn)), source))
        for fn in manifest.stream_consumers():
            dlqs.append(Dlq(fn.name, "stream", url(resources.dlq_name(stage, fn)), None))
        return cls(stage, sqs, session.client("cloudwatch"), resources.resource_name(stage, "table"), dlqs,
                   move_tasks=True)

    # --- reading ------------------------------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        return [Row(d, self.depth(d.url), self.oldest_age_s(d.url)) for d in self.dlqs]

    def depth(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def oldest_age_s(self, url: str) -> Optional[float]:
        """AWS: CloudWatch's ApproximateAgeOfOldestMessage (for a DLQ, the time since the message's original
        enqueue). Locally (no SQS metrics in moto): the oldest SentTimestamp among the first messages, peeked
        without hiding them."""
        if self.cloudwatch is not None:
            now = datetime.now(timezone.utc)
            points = self.cloudwatch.get_metric_statistics(
                Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
                Dimensions=[{"Name": "QueueName", "Value": url.rsplit("/", 1)[1]}],
                StartTime=now - timedelta(minutes=10), EndTime=now, Period=60, Statistics=["Maximum"])["Datapoints"]
            return max((p["Maximum"] for p in points), default=None)
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                            AttributeNames=["SentTimestamp"]).get("Messages", [])
        sent = [int(m["Attributes"]["SentTimestamp"]) for m in messages if "SentTimestamp" in m.get("Attributes", {})]
        return time.time() - min(sent) / 1000 if sent else None

    # --- moving back ----------------------------------------------------------------------------------------------
    def redrive(self, consumer: str, say: Callable[[str], None] = print) -> int:
        dlqs = [d for d in self.dlqs if d.consumer == consumer]
        if not dlqs:
            raise KeyError(consumer)
        total = 0
        for d in dlqs:
            if d.kind == "stream":
                total += self._redrive_stream(d, say)
            elif d.kind == "queue" and self.move_tasks:
                total += self._start_move_task(d, say)
            else:
                total += self._move_by_hand(d, say)
        return total

    def _arn(self, url: str) -> str:
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    def _start_move_task(self, d: Dlq, say: Callable[[str], None]) -> int:
        depth = self.depth(d.url)
        if depth == 0:
            say(f"{d.consumer} ({d.kind}): DLQ empty")
            return 0
        assert d.source_url
        task = self.sqs.start_message_move_task(SourceArn=self._arn(d.url), DestinationArn=self._arn(d.source_url))
        say(f"{d.consumer} ({d.kind}): moving about {depth} message(s) back to its queue "
            f"(SQS message-move task {task['TaskHandle'][:16]}...)")
        return depth

    def _receive(self, url: str) -> list[dict[str, Any]]:
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60,
                                        MessageAttributeNames=["All"]).get("Messages", [])

    def _move_by_hand(self, d: Dlq, say: Callable[[str], None]) -> int:
        """Receive, send to the source queue, then delete: a crash in between sends a message twice, never
        loses one (consumers are idempotent on the event id)."""
        assert d.source_url
        moved = 0
        while messages := self._receive(d.url):
            for m in messages:
                body, attributes = unwrap_sns_envelope(m["Body"], m.get("MessageAttributes") or {})
                self.sqs.send_message(QueueUrl=d.source_url, MessageBody=body, MessageAttributes=attributes)
                self.sqs.delete_message(QueueUrl=d.url, ReceiptHandle=m["ReceiptHandle"])
                moved += 1
        say(f"moved {moved} message(s) from {d.consumer}'s {d.kind} DLQ back to its queue")
        return moved

    def _redrive_stream(self, d: Dlq, say: Callable[[str], None]) -> int:
        from bazaar.adapters.dynamo import outbox
        from bazaar.adapters.dynamo.models import bind

        bind(self.table_name)
        reinserted = batches = 0
        while messages := self._receive(d.url):
            for m in messages:
                info = json.loads(m["Body"])["DDBStreamBatchInfo"]
                start = _parse(info["approximateArrivalOfFirstRecord"]) - STREAM_WINDOW_BEFORE
                end = _parse(info["approximateArrivalOfLastRecord"]) + STREAM_WINDOW_AFTER
                items = outbox.events_between(start, end)
                for item in items:
                    outbox.reinsert(item)
                reinserted += len(items)
                batches += 1
                say(f"{d.consumer}: batch of {info.get('batchSize', '?')} record(s) from {start:%H:%M:%S} to "
                    f"{end:%H:%M:%S}: {len(items)} outbox event(s) re-inserted")
                self.sqs.delete_message(QueueUrl=d.url, ReceiptHandle=m["ReceiptHandle"])
        say(f"moved {reinserted} event(s) of {batches} failed batch(es) back onto {d.consumer}'s stream "
            f"(re-inserted from the table; events already published are not published twice)")
        return reinserted


def unwrap_sns_envelope(body: str, attributes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A message SNS dead-lettered may be its JSON envelope; the consumer's queue gets raw messages."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return body, attributes
    if not (isinstance(envelope, dict) and envelope.get("Type") == "Notification" and "Message" in envelope):
        return body, attributes
    attrs = {name: {"DataType": a.get("Type", "String"), "StringValue": a["Value"]}
             for name, a in (envelope.get("MessageAttributes") or {}).items() if "Value" in a}
    return str(envelope["Message"]), attrs or attributes


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def consumers() -> list[Function]:
    return manifest.queue_consumers() + manifest.stream_consumers()


def age(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render(rows: list[Row]) -> str:
    header = ("consumer", "kind", "queue", "depth", "oldest")
    body = [(r.dlq.consumer, r.dlq.kind, r.dlq.url.rsplit("/", 1)[1], str(r.depth), age(r.oldest_age_s))
            for r in rows]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.rjust(w) if i >= 3 else c.ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(b) for b in body)])
