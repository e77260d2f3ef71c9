"""At least once in, exactly once applied: every order event delivered three times and out of order, a poison
message through maxReceiveCount and the DLQ back to success, and the stream relay's DLQ redriven from the table."""

from __future__ import annotations

import json
import random
import subprocess
import time
import uuid

import pytest

from bazaar.domain.events import DomainEvent
from tests.e2e.conftest import PYTHON, REPO, aws, stack_env, wait_for
from tests.e2e.orders.conftest import Shop, consumer

pytestmark = pytest.mark.e2e

COPIES = 3


def _effects(shop: Shop, order: dict, pid: str) -> dict:
    oid = order["order_id"]
    return {
        "charges": [e["kind"] for e in shop.ledger(oid)].count("charge"),
        "refunds": [e["kind"] for e in shop.ledger(oid)].count("refund"),
        "stock": shop.stock(pid),
        "confirmed mails": len(shop.mail(f"order {oid} is confirmed")),
        "seller mails": len(shop.mail(f"order {oid} for your products")),
        "cancelled mails": len(shop.mail(f"order {oid} was cancelled")),
        "status": shop.order(oid).json()["status"],
    }


def test_every_order_event_three_times_out_of_order_has_one_effect(shop: Shop) -> None:
    pid = shop.new_product(stock=10)["product_id"]
    customer = shop.as_("customer", 0)
    order = shop.place([(pid, 2)], token=customer).json()
    shop.wait_status(order["order_id"], "CONFIRMED")
    assert shop.cancel(order["order_id"], customer).status == 200
    assert wait_for(lambda: shop.ledger(order["order_id"]) and len(shop.ledger(order["order_id"])) == 2)
    assert wait_for(lambda: shop.mail(f"order {order['order_id']} was cancelled"))
    shop.quiet()
    expected = {"charges": 1, "refunds": 1, "stock": 10, "confirmed mails": 1, "seller mails": 1,
                "cancelled mails": 1, "status": "CANCELLED"}
    assert _effects(shop, order, pid) == expected

    events = shop.outbox(order["order_id"])
    assert sorted(e["type"] for e in events) == sorted(
        ["OrderCreated", "OrderConfirmed", "OrderCancelled", "RefundRequested"])
    deliveries = [e for e in events for _ in range(COPIES)]
    random.Random(7).shuffle(deliveries)  # out of order: a cancellation before its creation, and so on
    for message in deliveries:
        shop.publish(message)
    # the payment consumer's idempotency records lost too: the provider's keys and the conditional writes hold
    ddb = aws(shop.stack, "dynamodb")
    table = shop.stack.info["table_name"]
    shop.quiet()
    lost = ddb.query(TableName=table, KeyConditionExpression="PK = :p",
                     ExpressionAttributeValues={":p": {"S": "IDEMPOTENCY#process_payments"}})["Items"]
    for item in lost:
        ddb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
    for message in [e for e in events if e["type"] in ("OrderCreated", "RefundRequested")] * COPIES:
        shop.publish(message)
    shop.quiet()
    effects = _effects(shop, order, pid)
    print(f"\nduplicates: {len(deliveries)} deliveries of {len(events)} events (+{2 * COPIES} after losing "
          f"{len(lost)} idempotency records): effects {effects}")
    assert effects == expected  # one charge, one refund, one stock release, one e-mail per recipient


def test_webhooks_three_times_and_out_of_order_have_one_effect(shop: Shop) -> None:
    pid = shop.new_product(stock=10)["product_id"]
    customer = shop.as_("customer", 1)
    order = shop.place([(pid, 3)], method="pm_async", token=customer).json()
    oid = order["order_id"]
    assert wait_for(lambda: shop.ledger(oid))  # charged: pending at the provider
    failed = {"event_id": f"evt_f_{oid}", "type": "payment.failed", "order_id": oid}
    late_success = {"event_id": f"evt_s_{oid}", "type": "payment.succeeded", "order_id": oid}
    answers = [shop.webhook(body) for body in [failed, late_success, failed, late_success, failed, late_success]]
    assert [a.status for a in answers] == [200] * 6
    assert answers[0].json()["effect"] == "cancelled" and answers[1].json()["effect"] == "refund_requested"
    assert all(a.json() == answers[i % 2].json() for i, a in enumerate(answers))  # replays: the first answer
    assert wait_for(lambda: [e["kind"] for e in shop.ledger(oid)].count("refund") == 1)
    shop.quiet()
    now = shop.order(oid).json()
    assert (now["status"], now["cancel_reason"]) == ("CANCELLED", "payment_failed")
    assert shop.stock(pid) == 10  # released once
    assert sorted(e["kind"] for e in shop.ledger(oid)) == ["charge", "refund"]  # money never kept


def test_a_poison_message_is_tried_max_receive_count_times_then_redriven_once(shop: Shop) -> None:
    """The cause: the stage's sender identity is gone, so SES refuses every e-mail. The confirmation is tried
    maxReceiveCount times, then waits in the DLQ; once the identity is back, `make redrive` delivers it once."""
    fn = consumer("send_notifications")
    ses, sqs = aws(shop.stack, "sesv2"), aws(shop.stack, "sqs")
    sender = shop.stack.info["mail_sender"]
    dlq = shop.stack.info["queues"][fn.name]["dlq_url"]
    shop.quiet()
    ses.delete_email_identity(EmailIdentity=sender)
    try:
        pid = shop.new_product(stock=5)["product_id"]
        order = shop.place([(pid, 1)]).json()
        shop.wait_status(order["order_id"], "CONFIRMED")

        def dead_lettered():
            for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0,
                                         AttributeNames=["ApproximateReceiveCount"]).get("Messages", []):
                if json.loads(m["Body"]).get("aggregate_id") == order["order_id"]:
                    return m
            return None

        message = wait_for(dead_lettered, timeout_s=30)
        assert message, "the poison message never reached the DLQ"
        # its first receive from the DLQ counts on from the source queue: delivered exactly maxReceiveCount times
        assert int(message["Attributes"]["ApproximateReceiveCount"]) == fn.queue.max_receive_count + 1
        assert shop.mail(order["order_id"]) == []
    finally:
        ses.create_email_identity(EmailIdentity=sender)  # the cause, fixed
    out = subprocess.run(["make", "-s", "redrive", f"NAME={fn.name}"], cwd=REPO, capture_output=True, text=True,
                         timeout=60, env=stack_env(shop.stack.port, shop.stack.local_dir))
    assert out.returncode == 0, out.stderr
    assert f"moved 1 message(s) from {fn.name}'s queue DLQ" in out.stdout, out.stdout
    assert wait_for(lambda: len(shop.mail(order["order_id"])) == 2)
    shop.quiet()
    assert sorted(m["subject"] for m in shop.mail(order["order_id"])) == sorted([
        f"Your Bazaar order {order['order_id']} is confirmed",
        f"New Bazaar order {order['order_id']} for your products"])  # once each
    assert shop.dlq_depth(fn.name) == 0


def test_the_relays_dlq_is_redriven_from_the_table(shop: Shop) -> None:
    """A stream batch that fails every retry leaves only its metadata in the relay's DLQ. Once the cause is
    fixed, the redrive re-inserts the batch's outbox items from the table and the relay publishes them once."""
    from bazaar.adapters.dynamo.outbox import outbox_item

    table = shop.stack.info["table_name"]
    ddb = aws(shop.stack, "dynamodb")
    event = DomainEvent("ProductCreated", "redrive-probe", {"note": "relayed once after a redrive"},
                        event_id=uuid.uuid4().hex.upper()[:26])
    item = outbox_item(event).serialize()
    broken = dict(item, payload={"S": "{not json"})  # the poison: a payload the relay refuses to publish
    ddb.put_item(TableName=table, Item={"PK": {"S": f"OUTBOX#{event.event_id}"}, "SK": {"S": "EVENT"}, **broken})
    assert wait_for(lambda: shop.dlq_depth("publish_events") == 1, timeout_s=60), "the batch never dead-lettered"
    ddb.put_item(TableName=table, Item={"PK": {"S": f"OUTBOX#{event.event_id}"}, "SK": {"S": "EVENT"}, **item})
    time.sleep(1)  # the fix is a MODIFY record: the relay does not see it (INSERTs only)
    assert event.event_id not in shop.stack.log("invalidate_cache")
    out = subprocess.run([str(PYTHON), "-m", "ops", "redrive", "publish_events"], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env=stack_env(shop.stack.port, shop.stack.local_dir))
    assert out.returncode == 0, out.stderr
    assert "re-inserted" in out.stdout and shop.dlq_depth("publish_events") == 0, out.stdout
    consumed = wait_for(lambda: shop.stack.log("invalidate_cache").count(event.event_id) >= 1, timeout_s=20)
    assert consumed, "the redriven event never reached its consumer"
    shop.quiet()
    applied = [json.loads(line) for line in shop.stack.log("invalidate_cache").splitlines()
               if event.event_id in line and "cache brought in line" in line]
    assert len(applied) == 1
    published = [line for line in shop.stack.log("publish_events").splitlines()
                 if event.event_id in line and "event published" in line]
    assert len(published) == 1


def test_make_dlq_lists_every_dlq(shop: Shop) -> None:
    out = subprocess.run(["make", "-s", "dlq"], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env=stack_env(shop.stack.port, shop.stack.local_dir))
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    names = {(r[0], r[1]) for r in rows}
    for name in shop.stack.info["queues"]:
        assert {(name, "queue"), (name, "delivery")} <= names
    assert ("publish_events", "stream") in names
    assert all(r[3].isdigit() for r in rows)
