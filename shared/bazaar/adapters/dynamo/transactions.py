"""Every ``TransactWriteItems`` of Bazaar goes through ``run``: one place that knows how DynamoDB cancels a
transaction and what each cancellation means.

- ``ConditionalCheckFailed`` on any item: a business condition (a version, a status, stock) did not hold. Not
  retried here; ``ConditionFailed`` says which items failed, with the item as stored when asked for.
- ``TransactionConflict``: another transaction or write touched one of the items at the same time. DynamoDB
  cancels rather than waits, so contention is retried with full-jitter exponential backoff; if it outlasts the
  attempts, ``Conflict`` (409: the client may retry).
- Throttling (``ThrottlingError``, ``ProvisionedThroughputExceeded``, ``RequestLimitExceeded`` as reasons or as
  the error itself): retried the same way; if it persists, ``Unavailable`` (503 with ``Retry-After``).
Anything else is a bug or an outage and propagates. A cancelled transaction writes nothing, so retrying it
is always safe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from bazaar.backoff import full_jitter
from bazaar.domain.errors import Conflict, Unavailable

ATTEMPTS = 8
BASE_DELAY_S = 0.02
MAX_DELAY_S = 0.5
CONFLICT = "TransactionConflict"
THROTTLING = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded",
                        "ThrottlingException", "ProvisionedThroughputExceededException"})
CONDITION_FAILED = "ConditionalCheckFailed"

Kind = Literal["check", "delete", "put", "update"]
_ORDER: dict[str, int] = {"check": 0, "delete": 1, "put": 2, "update": 3}  # how pynamodb sends them (recipes §3)


@dataclass(frozen=True)
class Op:
    """One item of a transaction. ``tag`` names it in failures (e.g. ``("product", "<id>")``)."""

    kind: Kind
    model: Any  # a Model instance (put/update/delete) or a Model class (check)
    tag: Any
    condition: Optional[Condition] = None
    actions: Sequence[Action] = ()
    key: tuple[str, str] = ("", "")  # only for checks
    return_old_on_failure: bool = False


def put(model: Model, tag: Any, condition: Optional[Condition] = None, return_old: bool = False) -> Op:
    return Op("put", model, tag, condition, return_old_on_failure=return_old)


def update(model: Model, actions: Sequence[Action], tag: Any, condition: Optional[Condition] = None,
           return_old: bool = False) -> Op:
    return Op("update", model, tag, condition, tuple(actions), return_old_on_failure=return_old)


def delete(model: Model, tag: Any, condition: Optional[Condition] = None) -> Op:
    return Op("delete", model, tag, condition)


@dataclass
class ConditionFailed(Exception):
    """The transaction was cancelled because conditions failed: ``failures`` maps each failed op's tag to the
    item as stored (raw DynamoDB JSON; None when absent or not asked for)."""

    failures: dict[Any, Optional[dict[str, Any]]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"conditions failed on {sorted(map(str, self.failures))}"


@dataclass
class Stats:
    """Per-process counters (read by tests and the benchmark)."""

    conflicts_retried: int = 0
    throttles_retried: int = 0


stats = Stats()


def _sorted(ops: Sequence[Op]) -> list[Op]:
    return sorted(ops, key=lambda op: _ORDER[op.kind])  # stable: the caller's order within a kind


def _commit(connection: Connection, ops: Sequence[Op]) -> None:
    with TransactWrite(connection=connection) as tx:
        for op in ops:
            rv = "ALL_OLD" if op.return_old_on_failure else None
            if op.kind == "put":
                tx.save(op.model, condition=op.condition, return_values=rv)
            elif op.kind == "update":
                tx.update(op.model, actions=list(op.actions), condition=op.condition, return_values=rv)
            elif op.kind == "delete":
                tx.delete(op.model, condition=op.condition)
            else:
                tx.condition_check(op.model, op.key[0], op.key[1], condition=op.condition)


def classify(exc: TransactWriteError) -> tuple[str, list[Optional[str]]]:
    """("condition" | "conflict" | "throttled" | "other", the per-item reason codes)."""
    reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
    if CONDITION_FAILED in reasons:
        return "condition", reasons
    if CONFLICT in reasons:
        return "conflict", reasons
    if THROTTLING.intersection(c for c in reasons if c) or exc.cause_response_code in THROTTLING:
        return "throttled", reasons
    return "other", reasons


def backoff_s(attempt: int) -> float:
    return full_jitter(attempt, BASE_DELAY_S, MAX_DELAY_S)


def run(connection: Connection, ops: Sequence[Op], *, attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep) -> None:
    """Commit ``ops`` as one transaction, retrying contention and throttling (see the module docstring)."""
    ordered = _sorted(ops)
    last = "other"
    for attempt in range(attempts):
        try:
            _commit(connection, ordered)
            return
        except TransactWriteError as exc:
            kind, reasons = classify(exc)
            if kind == "condition":
                raise ConditionFailed({op.tag: getattr(r, "raw_item", None)
                                       for op, r, code in zip(ordered, exc.cancellation_reasons, reasons)
                                       if code == CONDITION_FAILED}) from exc
            if kind == "other":
                raise
            last = kind
            if kind == "conflict":
                stats.conflicts_retried += 1
            else:
                stats.throttles_retried += 1
            if attempt + 1 < attempts:
                sleep(backoff_s(attempt))
    if last == "throttled":
        raise Unavailable("the data store is throttling requests; retry shortly", retry_after_s=1)
    raise Conflict("the items this request changes are being changed concurrently; retry")
