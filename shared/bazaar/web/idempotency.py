"""The answers a route with Powertools idempotency gives when the idempotency layer refuses or fails.

Without a resolver import: the exception classes are imported only when an exception has to be told apart (the
route's idempotency utility has loaded them by then)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from bazaar.web.problems import problem, problem_result

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII, as header values travel safely


class IdempotencyProblems:
    """``key`` names what the request is idempotent on (e.g. "Idempotency-Key"); ``key_loc`` locates it in a 422.

    - the same key with another payload: 422 (not applied);
    - the same key while its first request still runs: 409 with ``Retry-After``;
    - the idempotency records cannot be read or written: 503 with ``Retry-After`` (nothing was applied)."""

    def __init__(self, *, key: str, key_loc: list[str]) -> None:
        self.key, self.key_loc = key, key_loc

    @staticmethod
    def _exceptions() -> tuple[type[Exception], type[Exception], type[Exception]]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (IdempotencyAlreadyInProgressError,
                                                                            IdempotencyPersistenceLayerError,
                                                                            IdempotencyValidationError)

        return IdempotencyValidationError, IdempotencyAlreadyInProgressError, IdempotencyPersistenceLayerError

    def _answer(self, ex: Exception) -> Optional[dict[str, Any]]:
        """``problem`` keyword arguments plus ``status`` and ``detail``, or None for another exception."""
        reused, in_flight, unavailable = self._exceptions()
        if isinstance(ex, reused):
            return {"status": 422, "detail": f"this {self.key} was already used with another request",
                    "errors": [{"loc": self.key_loc, "msg": "already used with another payload",
                                "type": "value_error"}]}
        if isinstance(ex, in_flight):
            return {"status": 409, "detail": f"a request with this {self.key} is still being processed; retry shortly",
                    "headers": {"Retry-After": "1"}}
        if isinstance(ex, unavailable):
            return {"status": 503, "detail": "the request could not be recorded right now; retry it as it was",
                    "headers": {"Retry-After": "1"}}
        return None

    def result(self, ex: Exception) -> Optional[dict[str, Any]]:
        """The API Gateway result answering ``ex``, or None if it is not an idempotency failure."""
        answer = self._answer(ex)
        return None if answer is None else problem_result(answer.pop("status"), answer.pop("detail"), **answer)

    def register(self, app: "APIGatewayHttpResolver") -> None:
        """The same answers on a resolver (the documenting one)."""

        def respond(ex: Exception) -> Any:
            answer = self._answer(ex)
            assert answer is not None
            return problem(answer.pop("status"), answer.pop("detail"), **answer)

        app.exception_handler(list(self._exceptions()))(respond)
