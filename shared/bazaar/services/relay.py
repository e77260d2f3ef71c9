"""The outbox relay's policy: how long to insist when the topic cannot be reached, and what to give up on.

Within one invocation, records are published in stream order. A transient failure (SNS unreachable, throttled or
failing on its side) is retried with full-jitter backoff until the invocation's retry budget is spent; then the
record is reported failed, and so is every later record of the batch without a call (they would fail the same
way, and the event source retries from the first failed record anyway). The event source retries the batch
(``retry_attempts``, bisecting), then sends its metadata to the relay's DLQ; ``make redrive NAME=publish_events``
re-inserts the outbox items of the failed batch, which travel the normal path again. With a 30 s timeout and
5 retries, an outage of about two minutes heals by itself; a longer one waits in the DLQ (alarmed).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from botocore.exceptions import (ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
                                 ReadTimeoutError)

from bazaar.backoff import full_jitter

MAX_BUDGET_S = 20.0  # per invocation; the rest of the function's timeout is left for the records after
TIMEOUT_MARGIN_S = 5.0
BASE_DELAY_S = 0.1
MAX_DELAY_S = 2.0
_TRANSIENT_CODES = frozenset({"InternalError", "InternalFailure", "ServiceUnavailable", "Throttling",
                              "ThrottlingException", "ThrottledException", "KMSThrottlingException",
                              "RequestLimitExceeded", "TooManyRequestsException"})


class BatchBlocked(RuntimeError):
    """An earlier record of this batch failed: this one waits for the retry (stream order is kept)."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return err.get("Code") in _TRANSIENT_CODES or status >= 500
    return False


class Relay:
    """One invocation of the relay."""

    def __init__(self, publish: Callable[[dict[str, Any]], Any], budget_s: float,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._publish, self._clock, self._sleep = publish, clock, sleep
        self._deadline = clock() + max(0.0, budget_s)
        self.blocked = False
        self.retries = 0

    @classmethod
    def for_invocation(cls, publish: Callable[[dict[str, Any]], Any], remaining_ms: int) -> "Relay":
        return cls(publish, min(MAX_BUDGET_S, remaining_ms / 1000 - TIMEOUT_MARGIN_S))

    def relay(self, message: dict[str, Any]) -> Any:
        if self.blocked:
            raise BatchBlocked("an earlier record of this batch failed")
        attempt = 0
        while True:
            try:
                return self._publish(message)
            except Exception as exc:
                delay = full_jitter(attempt, BASE_DELAY_S, MAX_DELAY_S)
                if not is_transient(exc) or self._clock() + delay > self._deadline:
                    self.blocked = True
                    raise
                self.retries += 1
                attempt += 1
                self._sleep(delay)
