"""Webhook signatures (contract §5), the webhook secret's re-read on rotation, the notification rules, the outbox
relay's retry policy, and the transaction runner's reading of DynamoDB's cancellations."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from bazaar.domain import notifications
from bazaar.domain.payments import BadSignature, SignatureMismatch, parse_signature_header, signature_header, verify
from bazaar.services.payments import WebhookVerifier
from bazaar.services.relay import BatchBlocked, Relay, is_transient

SECRET, BODY, NOW = b"whsec_test", b'{"event_id":"e1"}', 1_800_000_000


# --- signatures ---------------------------------------------------------------------------------------------------

def test_a_signature_verifies_and_one_byte_off_does_not() -> None:
    header = signature_header(SECRET, NOW, BODY)
    verify(header, BODY, [SECRET], NOW)
    with pytest.raises(SignatureMismatch):
        verify(header, BODY + b" ", [SECRET], NOW)
    with pytest.raises(SignatureMismatch):
        verify(header, BODY, [b"other"], NOW)


@pytest.mark.parametrize("skew, ok", [(0, True), (300, True), (-300, True), (301, False), (-301, False)])
def test_timestamp_tolerance_is_300_s_both_ways(skew: int, ok: bool) -> None:
    header = signature_header(SECRET, NOW + skew, BODY)
    if ok:
        verify(header, BODY, [SECRET], NOW)
    else:
        with pytest.raises(BadSignature) as exc:
            verify(header, BODY, [SECRET], NOW)
        assert not isinstance(exc.value, SignatureMismatch)  # a stale request is not a rotation symptom


@pytest.mark.parametrize("header", [None, "", "t=1", "v1=ab", "t=x,v1=ab", "t=1,t=2,v1=ab", "garbage",
                                    "t=1," + "v1=ab," * 300])
def test_malformed_headers(header) -> None:
    with pytest.raises(BadSignature):
        parse_signature_header(header)


def test_any_of_several_v1_and_unknown_schemes_ignored() -> None:
    good = signature_header(SECRET, NOW, BODY).split("v1=")[1]
    verify(f"t={NOW},v0=zz,v1={'0' * 64},v1={good.upper()}", BODY, [SECRET], NOW)


def test_the_secret_is_re_read_once_on_a_mismatch_and_not_again_within_the_interval() -> None:
    secrets = {"value": b"old"}
    loads: list[bool] = []
    clock = {"t": float(NOW)}

    def load(force: bool) -> bytes:
        loads.append(force)
        return secrets["value"] if force else b"old"  # the cache holds the old value until forced

    verifier = WebhookVerifier(load, clock=lambda: clock["t"], refetch_interval_s=10)
    secrets["value"] = b"new"  # rotated
    verifier.verify(signature_header(b"new", NOW, BODY), BODY)
    assert loads == [False, True]
    with pytest.raises(SignatureMismatch):  # a forgery right after: no second re-read
        verifier.verify(signature_header(b"forged", NOW, BODY), BODY)
    assert loads == [False, True, False]
    clock["t"] += 11
    with pytest.raises(SignatureMismatch):
        verifier.verify(signature_header(b"forged", NOW + 11, BODY), BODY)
    assert loads[-1] is True  # the interval passed: one re-read allowed again


# --- notifications ------------------------------------------------------------------------------------------------

ORDER = {"order_id": "O1", "customer_id": "alice", "currency": "EUR", "total_cents": 2150, "status": "CONFIRMED",
         "items": [{"product_id": "P1", "seller_id": "carol", "name": "Lamp", "quantity": 1, "unit_price_cents": 1250},
                   {"product_id": "P2", "seller_id": "dave", "name": "Mug", "quantity": 3, "unit_price_cents": 300}]}


def test_confirmed_tells_the_customer_and_each_seller_their_own_lines() -> None:
    sent = notifications.for_event("OrderConfirmed", {"order": ORDER})
    assert [(n.recipient_id, n.role) for n in sent] == [("alice", "customer"), ("carol", "seller"),
                                                         ("dave", "seller")]
    assert "21.50 EUR" in sent[0].text
    assert "Lamp" in sent[1].text and "Mug" not in sent[1].text


def test_cancelled_tells_the_customer_why_and_other_events_nobody() -> None:
    [n] = notifications.for_event("OrderCancelled", {"order": {**ORDER, "cancel_reason": "payment_declined"},
                                                     "refund_requested": True})
    assert n.recipient_id == "alice" and "declined" in n.text and "refunded" in n.text
    assert notifications.for_event("OrderCreated", {"order": ORDER}) == []


# --- the relay's retry policy ---------------------------------------------------------------------------------------

def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "Publish")


def test_transient_and_permanent_failures() -> None:
    assert is_transient(_client_error("InternalError", 500))
    assert is_transient(_client_error("Throttling", 400))
    assert is_transient(EndpointConnectionError(endpoint_url="http://x"))
    assert not is_transient(_client_error("NotFound", 404))
    assert not is_transient(ValueError("bad payload"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_the_relay_insists_within_its_budget_then_blocks_the_rest_of_the_batch() -> None:
    clock, calls = FakeClock(), []

    def publish(message: dict) -> str:
        calls.append(message["n"])
        if clock.now < 5:  # SNS down for 5 s
            raise _client_error("InternalError", 500)
        return "ok"

    relay = Relay(publish, budget_s=20, clock=clock, sleep=clock.sleep)
    assert relay.relay({"n": 1}) == "ok" and relay.retries > 0 and clock.now >= 5
    short = Relay(lambda m: (_ for _ in ()).throw(_client_error("InternalError", 500)), budget_s=3, clock=clock,
                  sleep=clock.sleep)
    started = clock.now
    with pytest.raises(ClientError):
        short.relay({"n": 2})
    assert clock.now - started <= 3
    with pytest.raises(BatchBlocked):  # later records are not even tried
        short.relay({"n": 3})


def test_a_permanent_failure_is_not_retried() -> None:
    clock, calls = FakeClock(), []
    relay = Relay(lambda m: calls.append(m) or (_ for _ in ()).throw(_client_error("AuthorizationError", 403)),
                  budget_s=20, clock=clock, sleep=clock.sleep)
    with pytest.raises(ClientError):
        relay.relay({"n": 1})
    assert len(calls) == 1 and clock.now == 0


def test_the_budget_leaves_room_for_the_timeout() -> None:
    full = Relay.for_invocation(lambda m: m, remaining_ms=30_000)
    assert 19.5 <= full._deadline - full._clock() <= 20.0  # capped at 20 s of a 30 s invocation
    tight = Relay.for_invocation(lambda m: m, remaining_ms=12_000)
    assert 6.5 <= tight._deadline - tight._clock() <= 7.0  # 5 s kept for the records after it
    none = Relay.for_invocation(lambda m: m, remaining_ms=4_000)  # under the margin: no retry at all
    assert none._deadline <= none._clock()


def test_a_refused_e_mail_raises_without_any_address_in_its_traceback() -> None:
    import traceback

    from bazaar.adapters.mail import MailNotSent, SesNotifier

    class RefusingSes:
        def send_email(self, **_: Any) -> dict:
            raise ClientError({"Error": {"Code": "MessageRejected",
                                         "Message": "Email address not verified orders@stage.example.com"}},
                              "SendEmail")

    with pytest.raises(MailNotSent) as caught:
        SesNotifier("orders@stage.example.com", client=RefusingSes()).send("bob@example.com", "Hi", "text")
    printed = "".join(traceback.format_exception(caught.value))
    assert caught.value.code == "MessageRejected" and "MessageRejected" in printed
    assert "not verified" not in printed and "@" not in str(caught.value)  # SES's message: not even as context
