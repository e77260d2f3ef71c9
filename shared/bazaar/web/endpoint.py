"""Any route of the manifest served without the Powertools resolver at run time: a caller (the JWT claims API
Gateway passes in), path/query/header parameters, a JSON body validated by its pydantic model, state changes with
their audit record (``bazaar.web.edge``).

The resolver and its OpenAPI validation cost about half of a route function's cold start, and building every
model of a schema module at import another quarter (``make bench``, docs/cold-starts.md). Here a route declares its
parameters once (``Param``) and names its body model (``Body``), from which both come:
- at run time, ``Endpoint.handler`` runs the shared checks, validates as the resolver's validation does (same
  statuses, same ``errors``), calls ``view(**arguments)`` and maps its exceptions as the resolver's handlers do;
  a body is validated by its model's compiled validator, built on the first request with a body (no pydantic
  import: ``bazaar.schemas.compiled``);
- for the OpenAPI document (and tests comparing answers), ``Endpoint.documented()`` builds a resolver whose route
  signature is made from the same declarations.

The view returns an API Gateway result (``bazaar.web.params.result``); an authenticated route's view also gets the
caller as ``actor``.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol, Sequence, Union

from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar.domain.errors import DomainError
from bazaar.domain.identity import Actor
from bazaar.domain.ports import InvalidPosition
from bazaar.web.cursors import BadCursor
from bazaar.web.edge import Authenticate, entry_point
from bazaar.web.lean import LeanRoute, declare
from bazaar.web.params import Param, read_params
from bazaar.web.problems import domain_problem, problem_result
from bazaar.web.validation import read_body, validate_body, validation_result

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

# A path parameter as the resolver matches it in the raw (still percent-encoded) path: Powertools' characters.
_SEGMENT_CHARS = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"


class Problems(Protocol):
    """Answers to exceptions a view may raise besides domain errors (e.g. ``bazaar.web.idempotency``)."""

    def result(self, ex: Exception) -> Optional[dict[str, Any]]:
        """The API Gateway result answering ``ex``, or None if it is not one of these."""

    def register(self, app: "APIGatewayHttpResolver") -> None:
        """The same answers on the resolver that documents the route."""


@dataclass(frozen=True)
class Body:
    """The JSON body: the view's argument ``arg`` gets it validated by ``model`` ("package.module:Class").

    At run time by the model's compiled validator (``bazaar.schemas.compiled``: pydantic's schema run by
    ``pydantic_core``, a ``Record`` with the model's fields, ``model_fields_set`` and ``model_dump``); the
    documenting resolver validates with the model itself (``load``)."""

    arg: str
    model: str

    def load(self) -> Any:
        module, _, name = self.model.partition(":")
        return getattr(importlib.import_module(module), name)

    def validator(self) -> Any:
        from bazaar.schemas import compiled

        return compiled.model(self.model)


class Endpoint(LeanRoute):
    """One route of the manifest, served by ``view(**arguments)`` returning an API Gateway result."""

    public_get_only = False

    def __init__(self, function_name: str, *, summary: str, tags: Sequence[str], params: Sequence[Param] = (),
                 body: Optional[Body] = None,
                 responses: Union[None, dict[int, Any], Callable[[], dict[int, Any]]] = None,
                 returns: Optional[Callable[[], Any]] = None, authenticate: Optional[Authenticate] = None,
                 problems: Sequence[Problems] = ()) -> None:
        """``returns``: the view's response type for the document (imported only when it is built);
        ``authenticate``: a public route's own proof of its caller (``bazaar.web.edge``); ``problems``: answers to
        other exceptions, each with ``result(ex)`` (None: not its exception) and ``register(app)``."""
        super().__init__(function_name, summary=summary, tags=tags, responses=responses)
        self.params, self.body, self.returns = tuple(params), body, returns
        self.authenticate, self.problems = authenticate, tuple(problems)
        # The resolver matched the raw path (Powertools' rule: literal text, <name> for a segment), not the
        # percent-decoded pathParameters API Gateway adds: the view gets what it got.
        self._path = re.compile("^{}$".format(
            re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{_SEGMENT_CHARS})", self.path)))

    @cached_property
    def handler(self) -> Callable[[dict, LambdaContext], dict]:  # type: ignore[override]
        return entry_point(self.function_name, self._answer, self.authenticate)

    def _match(self, event: Mapping[str, Any]) -> Optional[dict[str, str]]:
        ctx = event.get("requestContext") or {}
        if str((ctx.get("http") or {}).get("method", "")).upper() != self.route.method:
            return None
        path = event.get("rawPath") or ""
        stage = ctx.get("stage")
        if stage and stage != "$default":
            path = path[len("/" + stage):]
        match = self._path.match(path)
        return None if match is None else match.groupdict()

    def _answer(self, event: dict, context: LambdaContext, actor: Optional[Actor]) -> dict[str, Any]:
        assert self._view is not None, "no view registered"
        path = self._match(event)
        if path is None:  # API Gateway sends only this route's requests; another event is not a request for it
            return problem_result(404, "no such route")
        values, errors = read_params(self.params, event, path)
        if self.body is not None:
            value, answer = read_body(event)
            if answer is not None:
                return answer
            values[self.body.arg], body_errors = validate_body(self.body.validator(), value)
            errors += body_errors
        if errors:
            return validation_result(errors)
        if not self.route.public:
            values["actor"] = actor
        try:
            return self._view(**values)
        except DomainError as exc:  # answered as the resolver's handlers answer them (bazaar.web.http)
            answer = domain_problem(exc)
            return problem_result(answer.pop("status"), answer.pop("detail"), **answer)
        except (BadCursor, InvalidPosition) as exc:
            return problem_result(400, "malformed cursor" if isinstance(exc, InvalidPosition) else str(exc),
                                  title="Bad Request")
        except Exception as exc:
            for problems in self.problems:
                answer = problems.result(exc)
                if answer is not None:
                    return answer
            raise

    def _declare(self, app: "APIGatewayHttpResolver", view: Callable[..., Any]) -> None:
        from bazaar.web.http import current_actor

        for problems in self.problems:
            problems.register(app)

        def call(**kwargs: Any) -> dict[str, Any]:
            if not self.route.public:
                kwargs["actor"] = current_actor(app)
            return view(**kwargs)

        body = (self.body.arg, self.body.load()) if self.body is not None else None
        declare(app, self, view.__name__, self.params, call, body=body, returns=self.returns)
