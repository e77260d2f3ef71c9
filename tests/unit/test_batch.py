"""Partial batch responses (bazaar.consumers.process_batch / batch_handler): which records are reported, by which
identifier, and what a batch that failed entirely does."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bazaar import consumers
from bazaar.consumers import DYNAMODB_STREAMS, SQS, BatchFailed, batch_handler, process_batch
from tests.support.events import FakeContext, sqs_record, stream_insert_record

QUEUE = "arn:aws:sqs:eu-west-1:123456789012:q"
STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2026-11-30T00:00:00.000"


def sqs(body: str) -> dict[str, Any]:
    return sqs_record(body, "ProductUpdated", QUEUE)


def stream(payload: str, sequence: int) -> dict[str, Any]:
    return stream_insert_record({"PK": {"S": "OUTBOX#e"}, "SK": {"S": "EVENT"}, "payload": {"S": payload}},
                                {"PK": {"S": "OUTBOX#e"}, "SK": {"S": "EVENT"}}, STREAM, f"{sequence:021d}")


def fail_on_bad(record: dict[str, Any]) -> None:
    body = record["body"] if "body" in record else record["dynamodb"]["NewImage"]["payload"]["S"]
    if body.startswith("bad"):
        raise ValueError(f"refused {body}")


def test_sqs_failures_are_reported_by_message_id_in_batch_order() -> None:
    records = [sqs("ok 1"), sqs("bad 1"), sqs("ok 2"), sqs("bad 2")]
    assert process_batch({"Records": records}, fail_on_bad, SQS) == {"batchItemFailures": [
        {"itemIdentifier": records[1]["messageId"]}, {"itemIdentifier": records[3]["messageId"]}]}


def test_stream_failures_are_reported_by_sequence_number() -> None:
    records = [stream("ok", 1), stream("bad", 2), stream("ok", 3)]
    assert process_batch({"Records": records}, fail_on_bad, DYNAMODB_STREAMS) == {"batchItemFailures": [
        {"itemIdentifier": "000000000000000000002"}]}


def test_every_record_runs_once_in_order_and_a_clean_batch_reports_nothing() -> None:
    seen: list[str] = []
    records = [sqs(f"ok {i}") for i in range(5)]
    assert process_batch({"Records": records}, lambda r: seen.append(r["body"]), SQS) == {"batchItemFailures": []}
    assert seen == [f"ok {i}" for i in range(5)]
    assert process_batch({"Records": []}, fail_on_bad, SQS) == {"batchItemFailures": []}


def test_a_batch_that_failed_entirely_fails_the_invocation_with_every_error() -> None:
    records = [sqs("bad 1"), sqs("bad 2")]
    with pytest.raises(BatchFailed) as failed:
        process_batch({"Records": records}, fail_on_bad, SQS)
    assert [str(e) for e in failed.value.errors] == ["refused bad 1", "refused bad 2"]
    assert "All 2 records failed" in str(failed.value) and "ValueError" in str(failed.value)
    with pytest.raises(BatchFailed):
        process_batch({"Records": [stream("bad", 7)]}, fail_on_bad, DYNAMODB_STREAMS)


def test_any_exception_fails_only_its_record() -> None:
    def picky(record: dict[str, Any]) -> None:
        {"a": lambda: None, "b": lambda: json.loads("{"), "c": lambda: {}["missing"]}[record["body"]]()

    records = [sqs("a"), sqs("b"), sqs("c")]
    result = process_batch({"Records": records}, picky, SQS)
    assert result == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records[1:]]}


def test_a_failed_record_without_its_identifier_fails_the_whole_invocation() -> None:
    nameless = {k: v for k, v in sqs("bad").items() if k != "messageId"}
    with pytest.raises(KeyError):  # Lambda retries the whole batch, as it would for an unknown identifier
        process_batch({"Records": [sqs("ok"), nameless]}, fail_on_bad, SQS)


def test_an_event_without_records_is_refused() -> None:
    with pytest.raises(ValueError, match="SQS"):
        process_batch({"records": []}, fail_on_bad, SQS)


def test_each_failure_is_logged_with_its_identifier_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    records = [sqs("ok"), sqs("bad 1")]
    with caplog.at_level(logging.WARNING):
        process_batch({"Records": records}, fail_on_bad, SQS)
    [line] = [r for r in caplog.records if r.getMessage() == "record failed; reported for retry"]
    assert line.levelno == logging.WARNING
    assert (line.item_identifier, line.error, line.event_source) == (records[1]["messageId"], "ValueError", "SQS")
    assert line.exc_info is not None and str(line.exc_info[1]) == "refused bad 1"


def test_batch_handler_runs_on_invoke_first_and_answers_the_partial_response() -> None:
    calls: list[str] = []
    records = [sqs("ok"), sqs("bad")]

    def on_invoke(context: Any) -> None:
        calls.append(f"invoke {context.function_name}")

    def record_handler(record: dict[str, Any]) -> None:
        calls.append(record["body"])
        fail_on_bad(record)

    handler = batch_handler("invalidate_cache", SQS, record_handler, on_invoke=on_invoke)
    try:
        assert handler({"Records": records}, FakeContext("invalidate_cache")) == {
            "batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
        with pytest.raises(BatchFailed):
            handler({"Records": [sqs("bad")]}, FakeContext("invalidate_cache"))
    finally:
        consumers.reset()
    assert calls == ["invoke invalidate_cache", "ok", "bad", "invoke invalidate_cache", "bad"]
