"""Event sources end to end: table stream -> publish_events -> SNS -> SQS -> invalidate_cache, DLQs, redrive."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import redis

from bazaar import manifest, resources
from tests.e2e.conftest import PYTHON, REPO, aws, http, stack_env, tokens, wait_for

CONSUMER = "invalidate_cache"
pytestmark = pytest.mark.e2e


def publish(stack, event_type: str, message: str) -> None:
    aws(stack, "sns").publish(TopicArn=stack.info["events_topic_arn"], Message=message,
                              MessageAttributes={resources.EVENT_TYPE_ATTRIBUTE: {"DataType": "String",
                                                                                  "StringValue": event_type}})


def event_message(event_type: str, aggregate_id: str = "p-e2e", data: dict | None = None) -> dict:
    return {"event_id": uuid.uuid4().hex, "type": event_type, "aggregate_id": aggregate_id,
            "occurred_at": "2024-01-01T00:00:00Z", "data": data or {}}


def test_sns_to_sqs_to_consumer_round_trip(stack):
    cache = redis.Redis.from_url(stack.info["cache_url"], decode_responses=True)
    before = int(cache.get("products:gen") or 0)
    message = event_message("ProductCreated")
    publish(stack, "ProductCreated", json.dumps(message))
    # the consumer's effect: its log line for this event, and the list generation bumped in Valkey
    assert wait_for(lambda: message["event_id"] in stack.log(CONSUMER)), stack.log(CONSUMER)[-2000:]
    assert int(cache.get("products:gen") or 0) > before


def test_events_of_other_types_are_filtered_out_by_the_subscription(stack):
    message = event_message("OrderCreated")
    publish(stack, "OrderCreated", json.dumps(message))
    marker = event_message("ProductCreated")
    publish(stack, "ProductCreated", json.dumps(marker))  # published after: once it is seen, the other would be too
    assert wait_for(lambda: marker["event_id"] in stack.log(CONSUMER))
    assert message["event_id"] not in stack.log(CONSUMER)


def test_api_write_travels_stream_to_topic_to_consumer(stack):
    seller = next(u for u in stack.info["users"] if u["group"] == "seller")
    token = tokens(stack, seller["username"])["AccessToken"]
    created = http("POST", stack.url + "/products", token=token,
                   body={"name": "pipeline", "price_cents": 250, "currency": "EUR", "stock": 3})
    assert created.status == 201
    product_id = created.json()["product_id"]

    def relayed_and_consumed() -> bool:
        published = [json.loads(line) for line in stack.log("publish_events").splitlines()]
        consumed = [json.loads(line) for line in stack.log(CONSUMER).splitlines()]
        return any(r.get("message") == "event published" for r in published) and \
            any(r.get("aggregate_id") == product_id for r in consumed)

    assert wait_for(relayed_and_consumed), stack.log(CONSUMER)[-2000:]


def test_poison_message_is_delivered_max_receive_count_times_then_dead_lettered(stack):
    fn = manifest.get(CONSUMER)
    sqs = aws(stack, "sqs")
    dlq = stack.info["queues"][CONSUMER]["dlq_url"]
    body = f"poison-{uuid.uuid4().hex}"  # not an EventMessage: the consumer fails it every time
    publish(stack, "ProductUpdated", body)

    def dead_lettered():
        for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     AttributeNames=["ApproximateReceiveCount"]).get("Messages", []):
            if m["Body"] == body:
                return m
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        return None

    message = wait_for(dead_lettered, timeout_s=30)
    assert message, "the poison message never reached the DLQ"
    # SQS counts on in the DLQ: its first DLQ receive is maxReceiveCount + 1 = it was delivered exactly
    # maxReceiveCount times from the source queue (recipes §4).
    assert int(message["Attributes"]["ApproximateReceiveCount"]) == fn.queue.max_receive_count + 1
    sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)

    # and `python -m local redrive` moves it back to the source queue
    out = subprocess.run([str(PYTHON), "-m", "local", "redrive", CONSUMER], cwd=REPO, capture_output=True,
                         text=True, timeout=30, env=stack_env(stack.port, stack.local_dir))
    assert out.returncode == 0, out.stderr
    assert "moved" in out.stdout and not out.stdout.startswith("moved 0")


def test_stream_consumer_has_its_dlq(stack):
    for fn in manifest.stream_consumers():
        url = stack.info["dlqs"][fn.name]
        assert url.endswith(resources.dlq_name("local", fn))
