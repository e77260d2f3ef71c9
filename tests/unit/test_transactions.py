"""The transaction runner's reading of DynamoDB's cancellations (bazaar.adapters.dynamo.transactions): conditions
are reported per item, contention and throttling are retried with backoff, and what outlasts the retries is a 409
or a 503, never an unhandled error."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from bazaar.adapters.dynamo import transactions
from bazaar.domain.errors import Conflict, Unavailable


def cancelled(*codes: Optional[str], items: Optional[list] = None) -> TransactWriteError:
    """What pynamodb raises for a TransactionCanceledException with these per-item reason codes."""
    reasons = [CancellationReason(code=c, raw_item=items[i] if items else None) if c else None
               for i, c in enumerate(codes)]
    cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
                               "TransactWriteItems", {}, cancellation_reasons=reasons)
    return TransactWriteError("Failed to write transaction items", cause)


def throttled_call() -> TransactWriteError:
    cause = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                        "TransactWriteItems")
    return TransactWriteError("Failed to write transaction items", cause)


class Script:
    """Stands in for the commit: raises the scripted errors in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.sleeps: list[float] = []

    def commit(self, connection: Any, ops: Any) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch):
    def install(*errors: Exception) -> Script:
        s = Script(*errors)
        monkeypatch.setattr(transactions, "_commit", s.commit)
        return s
    return install


OPS = [transactions.Op("put", object(), "order"), transactions.Op("update", object(), ("product", "P1")),
       transactions.Op("put", object(), "outbox")]


def run(script_obj: Script) -> None:
    transactions.run(None, OPS, sleep=script_obj.sleeps.append)  # type: ignore[arg-type]


def test_contention_is_retried_with_growing_jittered_delays(script) -> None:
    s = script(cancelled("TransactionConflict", None, None), cancelled(None, "TransactionConflict", None))
    run(s)
    assert s.calls == 3 and len(s.sleeps) == 2
    assert 0 <= s.sleeps[0] <= transactions.BASE_DELAY_S and 0 <= s.sleeps[1] <= 2 * transactions.BASE_DELAY_S


def test_contention_that_outlasts_the_attempts_is_a_conflict(script) -> None:
    s = script(*[cancelled("TransactionConflict")] * transactions.ATTEMPTS)
    with pytest.raises(Conflict):
        run(s)
    assert s.calls == transactions.ATTEMPTS and all(d <= transactions.MAX_DELAY_S for d in s.sleeps)


@pytest.mark.parametrize("error", [lambda: cancelled("ThrottlingError"), throttled_call,
                                   lambda: cancelled(None, "ProvisionedThroughputExceeded")])
def test_throttling_that_persists_is_unavailable_with_retry_after(script, error) -> None:
    s = script(*[error() for _ in range(transactions.ATTEMPTS)])
    with pytest.raises(Unavailable) as exc:
        run(s)
    assert exc.value.retry_after_s >= 1


def test_a_failed_condition_is_not_retried_and_names_the_items(script) -> None:
    # pynamodb sends puts before updates: reasons come in that order (order, outbox, product)
    s = script(cancelled(None, None, "ConditionalCheckFailed", items=[None, None, {"stock": {"N": "1"}}]))
    with pytest.raises(transactions.ConditionFailed) as exc:
        run(s)
    assert s.calls == 1
    assert exc.value.failures == {("product", "P1"): {"stock": {"N": "1"}}}


def test_a_condition_wins_over_contention_in_the_same_answer(script) -> None:
    s = script(cancelled("TransactionConflict", None, "ConditionalCheckFailed"))
    with pytest.raises(transactions.ConditionFailed):
        run(s)


def test_anything_else_propagates(script) -> None:
    s = script(cancelled("ValidationError"))
    with pytest.raises(TransactWriteError):
        run(s)
    assert s.calls == 1
