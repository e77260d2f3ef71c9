"""Exactly once per key (bazaar.consumers.exactly_once) on the botocore persistence layer
(bazaar.adapters.dynamo.idempotency), against moto: the records Powertools' DynamoDB layer writes, and the same
decisions for a new, completed, in-progress, timed-out, expired or conflicting key."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (IdempotencyAlreadyInProgressError,
                                                                    IdempotencyValidationError)

from bazaar import consumers, wiring
from bazaar.consumers import IDEMPOTENCY_TTL_S, exactly_once
from tests.integration.conftest import TABLE
from tests.support.aws import dynamodb_requests
from tests.support.events import FakeContext

NAME = "invalidate_cache"  # any consumer: its partition is IDEMPOTENCY#invalidate_cache
PARTITION = f"IDEMPOTENCY#{NAME}"


@pytest.fixture
def store(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", NAME)
    wiring.reset()
    consumers.reset()
    consumers.register_context(NAME, FakeContext(NAME, timeout_ms=30_000))
    yield
    consumers.reset()
    wiring.reset()


def records() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").query(
        TableName=TABLE, KeyConditionExpression="PK = :pk", ConsistentRead=True,
        ExpressionAttributeValues={":pk": {"S": PARTITION}})["Items"]


def set_attributes(item: dict[str, Any], **values: dict[str, str]) -> None:
    names = {f"#{k}": k for k in values}
    boto3.client("dynamodb").update_item(
        TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
        ExpressionAttributeNames=names, ExpressionAttributeValues={f":{k}": v for k, v in values.items()})


class Effect:
    """An effect that counts its runs (``apply`` is what gets wrapped: Powertools names records by function)."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []

        def apply(message: dict[str, Any]) -> dict[str, Any]:
            self.runs.append(message)
            return {"applied": message["event_id"], "run": len(self.runs)}

        self.apply = apply


def event(event_id: str = "e1", **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "ProductUpdated", **extra}


def test_a_completed_key_returns_the_stored_result_without_running_again(store: None) -> None:
    effect = Effect()
    once = exactly_once(NAME, effect.apply)
    before = int(time.time())
    assert once(event()) == {"applied": "e1", "run": 1}
    with dynamodb_requests() as calls:
        assert once(event()) == {"applied": "e1", "run": 1}  # the stored result
    assert calls == ["PutItem"]  # refused, the stored record returned with the refusal: no second read
    assert len(effect.runs) == 1
    [item] = records()
    assert item["status"] == {"S": "COMPLETED"}
    assert json.loads(item["data"]["S"]) == {"applied": "e1", "run": 1}
    assert before + IDEMPOTENCY_TTL_S <= int(item["ttl"]["N"]) <= int(time.time()) + IDEMPOTENCY_TTL_S
    # Powertools' sort key: <function>.<module>.<qualname>#<hash of the key>
    assert item["SK"]["S"].startswith(f"{NAME}.{__name__}.Effect.__init__.<locals>.apply#")
    assert "validation" not in item
    assert once(event("e2")) == {"applied": "e2", "run": 2}  # another key runs
    assert len(records()) == 2


def test_a_key_in_progress_is_refused_and_carries_the_invocation_deadline(store: None) -> None:
    seen: dict[str, Any] = {}

    def effect(message: dict[str, Any]) -> dict[str, Any]:  # Powertools passes the data as `message=`
        [seen["item"]] = records()
        with pytest.raises(IdempotencyAlreadyInProgressError):
            once(message)  # the same key while the first run is still going
        return {"ok": True}

    once = exactly_once(NAME, effect)
    now_ms = int(time.time() * 1000)
    assert once(event()) == {"ok": True}
    item = seen["item"]
    assert item["status"] == {"S": "INPROGRESS"}
    # the deadline of the registered invocation (30 s from the fixture's start), not the record's TTL
    assert now_ms < int(item["in_progress_expiration"]["N"]) <= now_ms + 30_000
    assert [r["status"]["S"] for r in records()] == ["COMPLETED"]


def applied_then_left_in_progress(deadline_from_now_ms: int) -> tuple[Effect, Any]:
    """An effect applied once, whose record is then put back in progress with a deadline relative to now: what an
    invocation that timed out mid-effect (deadline passed) or one still running (deadline ahead) leaves behind."""
    effect = Effect()
    once = exactly_once(NAME, effect.apply)
    once(event())
    [item] = records()
    set_attributes(item, status={"S": "INPROGRESS"},
                   in_progress_expiration={"N": str(int(time.time() * 1000) + deadline_from_now_ms)})
    return effect, once


def test_a_key_left_in_progress_past_its_deadline_is_taken_over(store: None) -> None:
    _, once = applied_then_left_in_progress(-1)
    assert once(event()) == {"applied": "e1", "run": 2}
    assert [r["status"]["S"] for r in records()] == ["COMPLETED"]


def test_a_key_in_progress_before_its_deadline_is_refused(store: None) -> None:
    effect, once = applied_then_left_in_progress(60_000)
    with pytest.raises(IdempotencyAlreadyInProgressError):
        once(event())
    assert len(effect.runs) == 1


def test_an_expired_record_no_longer_holds_the_key(store: None) -> None:
    effect = Effect()
    once = exactly_once(NAME, effect.apply)
    once(event())
    [item] = records()
    set_attributes(item, ttl={"N": str(int(time.time()) - 1)})  # past its TTL, not yet deleted by DynamoDB
    assert once(event()) == {"applied": "e1", "run": 2}
    [item] = records()
    assert int(item["ttl"]["N"]) > time.time() + IDEMPOTENCY_TTL_S - 60


def test_a_failed_effect_leaves_no_record_so_the_retry_runs_it(store: None) -> None:
    attempts: list[int] = []

    def flaky(message: dict[str, Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("cache unreachable")
        return {"ok": len(attempts)}

    once = exactly_once(NAME, flaky)
    with pytest.raises(RuntimeError):
        once(event())
    assert records() == []
    assert once(event()) == {"ok": 2}


def test_the_same_key_with_another_payload_is_refused(store: None) -> None:
    effect = Effect()
    once = exactly_once(NAME, effect.apply, payload_jmespath="[type, order_id]")
    assert once(event(order_id="o1")) == {"applied": "e1", "run": 1}
    [item] = records()
    assert item["validation"]["S"]  # the payload's hash
    assert once(event(order_id="o1", extra="ignored")) == {"applied": "e1", "run": 1}
    with pytest.raises(IdempotencyValidationError):
        once(event(order_id="o2"))
    assert len(effect.runs) == 1


def test_a_message_without_its_key_is_refused(store: None) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyKeyError

    effect = Effect()
    with pytest.raises(IdempotencyKeyError):
        exactly_once(NAME, effect.apply)({"type": "ProductUpdated"})
    assert effect.runs == [] and records() == []


def test_records_are_the_ones_powertools_dynamodb_layer_reads(store: None) -> None:
    """Written by one layer, honoured by the other: a deployment that switches layers keeps every key."""
    from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig,
                                                             idempotent_function)

    effect = Effect()
    assert exactly_once(NAME, effect.apply)(event()) == {"applied": "e1", "run": 1}
    theirs = DynamoDBPersistenceLayer(table_name=TABLE, key_attr="PK", sort_key_attr="SK",
                                      static_pk_value=PARTITION, expiry_attr="ttl")
    config = IdempotencyConfig(event_key_jmespath="event_id", raise_on_no_idempotency_key=True,
                               expires_after_seconds=IDEMPOTENCY_TTL_S)
    config.register_lambda_context(FakeContext(NAME))
    powertools_once = idempotent_function(data_keyword_argument="message", config=config,
                                          persistence_store=theirs)(effect.apply)
    assert powertools_once(message=event()) == {"applied": "e1", "run": 1}  # ours, replayed by theirs
    assert powertools_once(message=event("e2")) == {"applied": "e2", "run": 2}
    assert exactly_once(NAME, effect.apply)(event("e2")) == {"applied": "e2", "run": 2}  # theirs, replayed by ours
    assert len(effect.runs) == 2
