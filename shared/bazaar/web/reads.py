"""Public read routes (``GET /products``, ``GET /products/{id}``) without the Powertools resolver at run time
(``bazaar.web.lean``).

The resolver and its request validation (pydantic, the OpenAPI parameter machinery) are most of a read function's
cold start: ``make bench`` measured them at more than the whole floor (boto3 and a DynamoDB client). These routes
take only path, query and header parameters, so each declares them once as ``Param`` values, from which both come:
- at run time, ``ReadRoute.handler`` checks them (400 problem+json with ``errors`` as the resolver writes them),
  calls the view and answers;
- for the OpenAPI document, ``ReadRoute.documented()`` builds a Powertools resolver whose route signature is made
  from the same ``Param`` values (``Annotated[int, Query(ge=1, le=100)]``...), so the document cannot disagree with
  what is enforced.
Routes with a caller, a body or a state change are served the same way by ``bazaar.web.endpoint``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

from bazaar.domain.errors import DomainError
from bazaar.domain.ports import InvalidPosition
from bazaar.web.cursors import BadCursor
from bazaar.web.lean import LeanRoute, declare
from bazaar.web.params import Param, ParamError, read_params, result
from bazaar.web.problems import domain_problem, problem_result

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


class ReadRoute(LeanRoute):
    """One public GET route of the manifest, served by ``view(**params)`` returning a ``result(...)``."""

    def __init__(self, function_name: str, *, params: Sequence[Param], summary: str, tags: Sequence[str],
                 responses: Union[None, dict[int, Any], Callable[[], dict[int, Any]]] = None,
                 returns: Optional[Callable[[], Any]] = None) -> None:
        """``returns``: the view's response type for the document (imported only when the document is built)."""
        super().__init__(function_name, summary=summary, tags=tags, responses=responses)
        self.params, self.returns = tuple(params), returns

    def _respond(self, event: Mapping[str, Any]) -> dict[str, Any]:
        assert self._view is not None, "no view registered"
        values, errors = read_params(self.params, event)
        if errors:
            return problem_result(400, "the request is malformed", errors=errors)
        try:
            return self._view(**values)
        except DomainError as exc:  # answered as the resolver's routes answer it (bazaar.web.http)
            answer = domain_problem(exc)
            return problem_result(answer.pop("status"), answer.pop("detail"), **answer)
        except (BadCursor, InvalidPosition) as exc:  # as the resolver routes answer them
            return problem_result(400, "malformed cursor" if isinstance(exc, InvalidPosition) else str(exc),
                                  title="Bad Request")

    def _declare(self, app: "APIGatewayHttpResolver", view: Callable[..., Any]) -> None:
        """The route with a signature made of the same ``Param`` values the handler enforces (tests resolve requests
        through it to check the lean handler against the resolver's validation, answers included)."""
        declare(app, self, view.__name__, self.params, view, returns=self.returns)


__all__ = ["Param", "ParamError", "ReadRoute", "result"]  # Param, ParamError and result live in bazaar.web.params
