"""The Powertools resolver with Bazaar's error mapping, and a route function's entry point around one.

Every route is served without the resolver at run time (``bazaar.web.endpoint``, ``bazaar.web.reads``,
``bazaar.web.platform``): importing it and its OpenAPI validation cost more than half a cold start (``make bench``).
It is built only to document the routes (``python -m bazaar.web.openapi``), and tests resolve requests through the
documented routes (``http_handler``) to check that the lean handlers answer alike. The order of checks every route
shares is in ``bazaar.web.edge``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (RequestUnsupportedContentType,
                                                                     RequestValidationError, ResponseValidationError)
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar.domain.errors import DomainError, Forbidden
from bazaar.domain.identity import Actor
from bazaar.domain.ports import InvalidPosition
from bazaar.observability import logger
from bazaar.web import bodies
from bazaar.web.cursors import BadCursor
from bazaar.web.edge import METHODS_WITH_BODY, Authenticate, decode_body, entry_point
from bazaar.web.identity import actor_of
from bazaar.web.problems import domain_problem, problem
from bazaar.web.validation import validation_problem

__all__ = ["METHODS_WITH_BODY", "current_actor", "decode_body", "http_handler", "make_app"]


def _validation_problem(ex: RequestValidationError) -> Response:
    answer = validation_problem(ex.errors())
    return problem(answer.pop("status"), answer.pop("detail"), **answer)


def make_app(validation: bool = True) -> APIGatewayHttpResolver:
    """A resolver with Bazaar's error mapping. Routes are added by ``bazaar.web.lean`` for the document.

    ``validation=False`` for routes that take no input."""
    app = APIGatewayHttpResolver(enable_validation=validation,
                                 response_validation_error_http_code=500 if validation else None,
                                 json_body_deserializer=bodies.loads)
    app.exception_handler(RequestValidationError)(_validation_problem)

    @app.exception_handler(ResponseValidationError)
    def _bad_response(ex: ResponseValidationError) -> Response:
        # Our bug, never the client's: log what failed (locations only, no values) and answer 500.
        logger.error("response failed validation", extra={"errors": [e.get("loc") for e in ex.errors()]})
        return problem(500, "the server produced an invalid response")

    @app.exception_handler(DomainError)
    def _domain_problem(ex: DomainError) -> Response:
        answer = domain_problem(ex)
        return problem(answer.pop("status"), answer.pop("detail"), **answer)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_media_type(_: RequestUnsupportedContentType) -> Response:
        return problem(415, "the request body must be application/json")  # Powertools' own 415 is not problem+json

    @app.exception_handler([BadCursor, InvalidPosition])
    def _bad_cursor(ex: ValueError) -> Response:
        return problem(400, "malformed cursor" if isinstance(ex, InvalidPosition) else str(ex), title="Bad Request")

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return problem(404, "no such route")

    return app


def current_actor(app: APIGatewayHttpResolver) -> Actor:
    actor = actor_of(app.current_event.raw_event)
    if actor is None:  # the entry point already answered 401; this guards direct resolver use
        raise Forbidden("authentication required")
    return actor


def http_handler(function_name: str, app: APIGatewayHttpResolver, authenticate: Optional[Authenticate] = None,
                 ) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of route function ``function_name`` with ``app`` answering after the shared checks
    (``bazaar.web.edge``)."""

    def answer(event: dict, context: LambdaContext, _: Any) -> dict:
        return app.resolve(event, context)

    return entry_point(function_name, answer, authenticate)


