"""Payments and notifications through their entry points: the webhook's signature rules (contract §5), the
payments consumer against the simulated provider's durable ledger, and e-mail through moto's SES."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Iterator

import pytest

from bazaar import consumers
from bazaar.domain.payments import signature_header
from tests.integration.conftest import TABLE, invoke_handler
from tests.integration.orders_api import (client, CUSTOMER, SENDER, OrdersApi, add_user, consume, drop_idempotency_records,
                                          ledger, orders_environment, outbox_messages, stock_of)
from tests.support.events import claims


@pytest.fixture(scope="module")
def shop(moto_url: str, valkey_server) -> Iterator[OrdersApi]:
    with orders_environment(moto_url, f"redis://{valkey_server.host}:{valkey_server.port}/0") as values:
        api = OrdersApi(invoke_handler, values["webhook_secret"])
        api.values = values  # type: ignore[attr-defined]
        yield api


def event_of(order_id: str, event_type: str) -> dict[str, Any]:
    [message] = [m for m in outbox_messages(TABLE, order_id) if m["type"] == event_type]
    return message


def webhook_body(order_id: str, type_: str = "payment.succeeded", event_id: str = "") -> dict[str, str]:
    """``event_id=""``: one derived from the order and type (the same body repeated is the same event)."""
    return {"event_id": event_id or f"evt_{order_id}_{type_}", "type": type_, "order_id": order_id}


# --- the webhook's signature ------------------------------------------------------------------------------------------

@pytest.fixture
def pending(shop: OrdersApi) -> dict[str, Any]:
    pid = shop.new_product(stock=5)["product_id"]
    return shop.order_now(pid, 2, method="pm_async")


def test_a_valid_webhook_confirms_a_pending_order(shop: OrdersApi, pending: dict) -> None:
    result = shop.webhook(webhook_body(pending["order_id"]))
    assert result.status == 200, result.body
    assert result.json == {"event_id": f"evt_{pending['order_id']}_payment.succeeded", "effect": "confirmed",
                           "order_id": pending["order_id"], "status": "CONFIRMED"}
    assert shop.get_order(pending["order_id"]).json["status"] == "CONFIRMED"
    assert [m["type"] for m in outbox_messages(TABLE, pending["order_id"])] == ["OrderCreated", "OrderConfirmed"]


@pytest.mark.parametrize("case", ["missing header", "other secret", "tampered body", "stale timestamp",
                                  "future timestamp", "malformed header", "no v1", "two timestamps"])
def test_a_webhook_without_a_valid_signature_is_401_and_changes_nothing(shop: OrdersApi, pending: dict,
                                                                        case: str) -> None:
    body = json.dumps(webhook_body(pending["order_id"])).encode()
    now = int(time.time())
    secret = shop.webhook_secret.encode()
    headers = {
        "missing header": "",
        "other secret": signature_header(b"not-the-secret", now, body),
        "tampered body": signature_header(secret, now, body.replace(b"succeeded", b"failed")),
        "stale timestamp": signature_header(secret, now - 301, body),
        "future timestamp": signature_header(secret, now + 301, body),
        "malformed header": "v1=abc,t=soon",
        "no v1": f"t={now}",
        "two timestamps": signature_header(secret, now, body) + f",t={now}",
    }
    result = shop.webhook(None, raw=body, header=headers[case])
    problem = result.assert_problem(401)
    assert "signature" in problem["detail"].lower()
    assert shop.get_order(pending["order_id"]).json["status"] == "PENDING"


def test_a_timestamp_within_300_s_is_accepted(shop: OrdersApi, pending: dict) -> None:
    assert shop.webhook(webhook_body(pending["order_id"]), t=int(time.time()) - 290).status == 200


def test_several_v1_signatures_one_of_which_matches(shop: OrdersApi, pending: dict) -> None:
    body = json.dumps(webhook_body(pending["order_id"])).encode()
    now = int(time.time())
    good = signature_header(shop.webhook_secret.encode(), now, body).split("v1=")[1]
    result = shop.webhook(None, raw=body, header=f"t={now},v1={'0' * 64},v1={good}")
    assert result.status == 200


def test_a_base64_encoded_body_is_verified_as_sent(shop: OrdersApi, pending: dict) -> None:
    from tests.support.events import http_event

    body = json.dumps(webhook_body(pending["order_id"])).encode()
    event = http_event("POST", "/payments/webhook", body=base64.b64encode(body).decode(),
                       headers={"bazaar-signature": signature_header(shop.webhook_secret.encode(),
                                                                     int(time.time()), body)})
    event["isBase64Encoded"] = True
    assert shop.call("payment_webhook", event).status == 200


def test_a_rotated_secret_is_picked_up_on_the_first_mismatch(shop: OrdersApi, pending: dict) -> None:
    """The cached secret is re-read once when a signature does not match it; re-reads are rate limited."""
    from bazaar.adapters import secrets
    from functions.payment_webhook import handler as webhook

    secret_id = shop.values["WEBHOOK_SECRET_ID"]  # type: ignore[attr-defined]
    assert shop.webhook(webhook_body(pending["order_id"], "payment.unknown")).status == 200  # cached now
    sm = client("secretsmanager")
    sm.put_secret_value(SecretId=secret_id, SecretString="whsec_rotated")
    webhook.verifier._last_refetch = float("-inf")  # forged requests of earlier tests used this interval's re-read
    try:
        assert shop.webhook(webhook_body(pending["order_id"]), secret="whsec_rotated").status == 200
        # a forged request right after: no second re-read within the interval (the cached value is the new one)
        reads = []
        real = webhook.verifier._load
        webhook.verifier._load = lambda force: reads.append(force) or real(force)
        try:
            shop.webhook(webhook_body(pending["order_id"], event_id="evt_forged"), secret="forged").assert_problem(401)
        finally:
            webhook.verifier._load = real
        assert reads == [False]
    finally:  # the other tests sign with the original secret
        sm.put_secret_value(SecretId=secret_id, SecretString=shop.webhook_secret)
        secrets.clear()


# --- the webhook's effects --------------------------------------------------------------------------------------------

def test_a_replayed_event_id_is_200_with_no_second_effect(shop: OrdersApi, pending: dict) -> None:
    event_id = f"evt_replay_{pending['order_id']}"
    first = shop.webhook(webhook_body(pending["order_id"], "payment.failed", event_id))
    assert first.json["effect"] == "cancelled"
    pid = pending["items"][0]["product_id"]
    assert stock_of(TABLE, pid) == 5
    for _ in range(2):
        again = shop.webhook(webhook_body(pending["order_id"], "payment.failed", event_id))
        assert (again.status, again.json) == (200, first.json)
    assert stock_of(TABLE, pid) == 5  # released once
    # the same event id about something else is refused, not applied
    shop.webhook(webhook_body(pending["order_id"], "payment.succeeded", event_id)).assert_problem(422)
    assert ledger(TABLE, pending["order_id"]) == []


def test_payment_failed_cancels_with_payment_failed(shop: OrdersApi, pending: dict) -> None:
    shop.webhook(webhook_body(pending["order_id"], "payment.failed"))
    order = shop.get_order(pending["order_id"]).json
    assert (order["status"], order["cancel_reason"]) == ("CANCELLED", "payment_failed")


def test_unknown_order_is_404_and_unknown_types_are_acknowledged(shop: OrdersApi, pending: dict) -> None:
    shop.webhook(webhook_body("01ARZ3NDEKTSV4RRFFQ69G5FAV")).assert_problem(404)
    shop.webhook(webhook_body("not-an-id")).assert_problem(404)
    ignored = shop.webhook(webhook_body(pending["order_id"], "charge.dispute.created"))
    assert (ignored.status, ignored.json["effect"]) == (200, "ignored")
    shop.webhook({"event_id": f"evt_{pending['order_id']}", "order_id": pending["order_id"]}).assert_problem(422)


def test_money_for_an_order_cancelled_meanwhile_is_refunded_once(shop: OrdersApi, pending: dict) -> None:
    assert shop.cancel(pending["order_id"]).status == 200
    late = shop.webhook(webhook_body(pending["order_id"], event_id=f"evt_late_{pending['order_id']}"))
    assert late.json == {"event_id": f"evt_late_{pending['order_id']}", "order_id": pending["order_id"], "effect": "refund_requested",
                         "status": "CANCELLED"}
    # another event id with the same news: no second refund request
    again = shop.webhook(webhook_body(pending["order_id"], event_id=f"evt_late2_{pending['order_id']}"))
    assert again.json["effect"] == "no_change"
    refunds = [m for m in outbox_messages(TABLE, pending["order_id"]) if m["type"] == "RefundRequested"]
    assert len(refunds) == 1
    assert refunds[0]["data"] == {"order_id": pending["order_id"], "customer_id": "customer-1",
                                  "amount_cents": pending["total_cents"], "currency": "EUR",
                                  "idempotency_key": f"{pending['order_id']}-refund"}


# --- the payments consumer ------------------------------------------------------------------------------------------------

def test_duplicate_and_replayed_payment_events_charge_and_refund_once(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    order = shop.order_now(pid, 1)
    created = event_of(order["order_id"], "OrderCreated")
    consume("process_payments", created, created, created)  # one batch, three copies
    drop_idempotency_records(TABLE, "process_payments")  # even with the first line of defence gone ...
    consume("process_payments", created)
    assert [e["kind"] for e in ledger(TABLE, order["order_id"])] == ["charge"]  # ... one charge (provider key)
    assert [m["type"] for m in outbox_messages(TABLE, order["order_id"])] == ["OrderCreated", "OrderConfirmed"]
    assert shop.cancel(order["order_id"]).json["status"] == "CANCELLED"
    refund = event_of(order["order_id"], "RefundRequested")
    consume("process_payments", refund, refund)
    drop_idempotency_records(TABLE, "process_payments")
    consume("process_payments", refund)
    assert sorted(e["kind"] for e in ledger(TABLE, order["order_id"])) == ["charge", "refund"]
    assert stock_of(TABLE, pid) == 5


def test_an_order_cancelled_before_its_charge_is_never_charged(shop: OrdersApi) -> None:
    pid = shop.new_product(stock=5)["product_id"]
    order = shop.order_now(pid, 1)
    shop.cancel(order["order_id"])
    consume("process_payments", event_of(order["order_id"], "OrderCreated"))
    assert ledger(TABLE, order["order_id"]) == []


def test_unknown_event_fields_are_ignored(shop: OrdersApi) -> None:
    """An event version that adds fields (top level and in data) does not break this consumer."""
    pid = shop.new_product(stock=5)["product_id"]
    order = shop.order_now(pid, 1)
    created = event_of(order["order_id"], "OrderCreated")
    newer = {**created, "schema_version": 2, "trace": {"id": "x"},
             "data": {**created["data"], "channel": "mobile",
                      "order": {**created["data"]["order"], "coupon": "WELCOME"}}}
    assert consume("process_payments", newer) == {"batchItemFailures": []}
    assert shop.get_order(order["order_id"]).json["status"] == "CONFIRMED"


# --- notifications ----------------------------------------------------------------------------------------------------

def sent_mail() -> list[dict[str, Any]]:
    from moto.ses.models import ses_backends  # the in-process moto server's backend

    return [{"to": m.destinations.get("ToAddresses", []), "subject": m.subject, "source": m.source}
            for m in ses_backends["123456789012"]["eu-west-1"].sent_messages]


@pytest.fixture(scope="module")
def people(shop: OrdersApi) -> dict[str, str]:
    pool = shop.values["USER_POOL_ID"]  # type: ignore[attr-defined]
    return {"customer": add_user(pool, "cora", "cora@example.com"), "seller": add_user(pool, "sam", "sam@example.com"),
            "seller2": add_user(pool, "sid", "sid@example.com"), "nomail": add_user(pool, "nora", None)}


def test_confirmed_orders_mail_the_customer_and_each_seller_once(shop: OrdersApi, people: dict[str, str],
                                                                  logs) -> None:
    customer = claims(people["customer"], "customer")
    a = shop.new_product(who=claims(people["seller"], "seller"), stock=5)["product_id"]
    b = shop.new_product(who=claims(people["seller2"], "seller"), stock=5)["product_id"]
    c = shop.new_product(who=claims(people["seller"], "seller"), stock=5)["product_id"]
    order = shop.place([{"product_id": p, "quantity": 1} for p in (a, b, c)], who=customer, key="mail").json
    consume("process_payments", event_of(order["order_id"], "OrderCreated"))
    confirmed = event_of(order["order_id"], "OrderConfirmed")
    before = len(sent_mail())
    assert consume("send_notifications", confirmed, confirmed) == {"batchItemFailures": []}
    assert consume("send_notifications", confirmed) == {"batchItemFailures": []}
    mails = sent_mail()[before:]
    assert sorted((m["to"][0], m["subject"]) for m in mails) == sorted([
        ("cora@example.com", f"Your Bazaar order {order['order_id']} is confirmed"),
        ("sam@example.com", f"New Bazaar order {order['order_id']} for your products"),
        ("sid@example.com", f"New Bazaar order {order['order_id']} for your products")])
    assert all(m["source"] == SENDER for m in mails)
    notified = [(r["notifications"], r["replayed"]) for r in logs.records() if r["message"] == "order event notified"]
    assert notified == [(3, 0), (3, 3), (3, 3)]  # each delivery says how many e-mails earlier ones had handled


def test_a_partly_failed_notification_resends_only_what_is_missing(shop: OrdersApi, people: dict[str, str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from bazaar import wiring

    customer = claims(people["customer"], "customer")
    pid = shop.new_product(who=claims(people["seller"], "seller"), stock=5)["product_id"]
    order = shop.place([{"product_id": pid, "quantity": 1}], who=customer, key="partial").json
    consume("process_payments", event_of(order["order_id"], "OrderCreated"))
    confirmed = event_of(order["order_id"], "OrderConfirmed")
    notifier = wiring.notifier()
    real_send, calls = notifier.send, []

    def flaky(to: str, subject: str, text: str) -> str:
        calls.append(to)
        if to == "sam@example.com" and calls.count(to) == 1:
            raise RuntimeError("SES hiccup")
        return real_send(to, subject, text)

    monkeypatch.setattr(notifier, "send", flaky)
    before = len(sent_mail())
    with pytest.raises(consumers.BatchFailed):  # the whole batch failed: the invocation fails, SQS retries ...
        consume("send_notifications", confirmed)
    assert [m["to"][0] for m in sent_mail()[before:]] == ["cora@example.com"]
    assert consume("send_notifications", confirmed) == {"batchItemFailures": []}
    assert sorted(m["to"][0] for m in sent_mail()[before:]) == ["cora@example.com", "sam@example.com"]  # ... once each


def test_cancelled_orders_mail_the_customer_and_users_without_address_are_skipped(
        shop: OrdersApi, people: dict[str, str], logs) -> None:
    pid = shop.new_product(who=claims(people["seller"], "seller"), stock=5)["product_id"]
    for who in ("customer", "nomail"):
        order = shop.place([{"product_id": pid, "quantity": 1}], who=claims(people[who], "customer"),
                           key=f"c-{who}").json
        shop.cancel(order["order_id"], who=claims(people[who], "customer"))
        before = len(sent_mail())
        assert consume("send_notifications", event_of(order["order_id"], "OrderCancelled")) == {
            "batchItemFailures": []}
        mails = sent_mail()[before:]
        if who == "customer":
            assert [(m["to"][0], m["subject"]) for m in mails] == [
                ("cora@example.com", f"Your Bazaar order {order['order_id']} was cancelled")]
        else:
            assert mails == []
    assert "example.com" not in logs.text  # addresses never reach a log line


def test_consumers_need_nothing_beyond_their_grants(shop: OrdersApi, monkeypatch: pytest.MonkeyPatch) -> None:
    from bazaar import consumers, manifest, wiring
    from tests.integration.test_grants import _only_granted

    pid = shop.new_product(stock=5)["product_id"]
    order = shop.order_now(pid, 1, who=CUSTOMER)
    try:
        for name, event_type in (("process_payments", "OrderCreated"), ("send_notifications", "OrderConfirmed")):
            with monkeypatch.context() as mp:
                _only_granted(manifest.get(name), mp)
                consumers.reset()
                assert consume(name, event_of(order["order_id"], event_type)) == {"batchItemFailures": []}, name
    finally:
        wiring.reset()
        consumers.reset()
