"""The answers a route with Powertools idempotency gives when the idempotency layer refuses or fails."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.idempotency.exceptions import (IdempotencyAlreadyInProgressError,
                                                                    IdempotencyPersistenceLayerError,
                                                                    IdempotencyValidationError)

from bazaar.web.problems import problem


def idempotency_problems(app: APIGatewayHttpResolver, *, key: str, key_loc: list[str]) -> None:
    """``key`` names what the request is idempotent on (e.g. "Idempotency-Key"); ``key_loc`` locates it in a 422.

    - the same key with another payload: 422 (not applied);
    - the same key while its first request still runs: 409 with ``Retry-After``;
    - the idempotency records cannot be read or written: 503 with ``Retry-After`` (nothing was applied)."""

    @app.exception_handler(IdempotencyValidationError)
    def _reused(_: IdempotencyValidationError) -> Response:
        return problem(422, f"this {key} was already used with another request", errors=[
            {"loc": key_loc, "msg": "already used with another payload", "type": "value_error"}])

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_flight(_: IdempotencyAlreadyInProgressError) -> Response:
        return problem(409, f"a request with this {key} is still being processed; retry shortly",
                       headers={"Retry-After": "1"})

    @app.exception_handler(IdempotencyPersistenceLayerError)
    def _store_unavailable(_: IdempotencyPersistenceLayerError) -> Response:
        return problem(503, "the request could not be recorded right now; retry it as it was",
                       headers={"Retry-After": "1"})
