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
Routes with a body keep the resolver (``bazaar.web.http``): their validation is pydantic's.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Optional, Sequence, Union
from urllib.parse import parse_qsl

from bazaar.domain.errors import DomainError
from bazaar.domain.ports import InvalidPosition
from bazaar.web.cursors import BadCursor
from bazaar.web.lean import LeanRoute
from bazaar.web.problems import domain_problem, problem_result

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

# An integer as pydantic reads one from a string: surrounding whitespace, a sign, "_" between digits, a zero fraction.
_INTEGER = re.compile(r"\s*([+-]?)([0-9]+(?:_[0-9]+)*)(?:\.0*)?\s*")


class ParamError(ValueError):
    def __init__(self, loc: list[str], msg: str, kind: str) -> None:
        super().__init__(msg)
        self.error = {"loc": loc, "msg": msg, "type": kind}


@dataclass(frozen=True)
class Param:
    """One parameter as the client sends it (``name``: the query name, the lower-case header name or the path
    segment) and as the view receives it (``arg``)."""

    name: str
    source: Literal["path", "query", "header"]
    type: type = str
    default: Any = None
    ge: Optional[int] = None
    le: Optional[int] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    pattern: Optional[str] = None

    @property
    def arg(self) -> str:
        return self.name.replace("-", "_")

    def read(self, event: Mapping[str, Any]) -> Any:
        where = {"path": "pathParameters", "query": "queryStringParameters", "header": "headers"}[self.source]
        raw = (event.get(where) or {}).get(self.name)
        loc = [self.source, self.name]
        if raw is None:
            if self.source == "path":
                raise ParamError(loc, "Field required", "missing")
            return self.default
        if self.source == "query" and self._repeated(event):  # API Gateway joined the values with commas
            raise ParamError(loc, f"Input should be a valid {'integer' if self.type is int else 'string'}",
                             "int_type" if self.type is int else "string_type")
        if self.type is int:
            match = _INTEGER.fullmatch(raw)
            if not match:
                raise ParamError(loc, "Input should be a valid integer, unable to parse string as an integer",
                                 "int_parsing")
            digits = match.group(2).replace("_", "").lstrip("0") or "0"
            if len(digits) > 4300:  # Python's (and pydantic's) limit for converting a decimal string
                raise ParamError(loc, "Unable to parse input string as an integer, exceeded maximum size",
                                 "int_parsing_size")
            # Beyond 30 digits the value is out of any range declared here: no need to convert it all.
            value: Any = int(match.group(1) + (digits if len(digits) <= 30 else "9" * 31))
            if self.ge is not None and value < self.ge:
                raise ParamError(loc, f"Input should be greater than or equal to {self.ge}", "greater_than_equal")
            if self.le is not None and value > self.le:
                raise ParamError(loc, f"Input should be less than or equal to {self.le}", "less_than_equal")
            return value
        if self.min_length is not None and len(raw) < self.min_length:
            raise ParamError(loc, f"String should have at least {self.min_length} character"
                                  f"{'s' if self.min_length != 1 else ''}", "string_too_short")
        if self.max_length is not None and len(raw) > self.max_length:
            raise ParamError(loc, f"String should have at most {self.max_length} characters", "string_too_long")
        if self.pattern is not None and not re.search(self.pattern, raw):
            raise ParamError(loc, f"String should match pattern '{self.pattern}'", "string_pattern_mismatch")
        return raw

    def _repeated(self, event: Mapping[str, Any]) -> bool:
        raw_query = event.get("rawQueryString") or ""
        return sum(1 for name, _ in parse_qsl(raw_query, keep_blank_values=True) if name == self.name) > 1

    def annotation(self) -> Any:
        """The parameter as Powertools declares it (for the OpenAPI document only)."""
        from typing import Annotated, Optional as Opt

        from aws_lambda_powertools.event_handler.openapi.params import Header, Query

        if self.source == "path":
            return self.type
        constraints = {k: v for k, v in (("ge", self.ge), ("le", self.le), ("min_length", self.min_length),
                                          ("max_length", self.max_length), ("pattern", self.pattern))
                       if v is not None}
        marker = Header(alias=self.name, **constraints) if self.source == "header" else Query(**constraints)
        kind = self.type if self.default is not None else Opt[self.type]
        return Annotated[kind, marker]


def result(status: int, body: Any = None, headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """An API Gateway v2 result: a JSON body (serialized as the resolver does), or none (304)."""
    out: dict[str, Any] = {"statusCode": status, "headers": dict(headers or {}), "isBase64Encoded": False}
    if body is not None:
        out["headers"]["Content-Type"] = "application/json"
        out["body"] = json.dumps(body, separators=(",", ":"))
    return out


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
        values, errors = {}, []
        for param in self.params:
            try:
                values[param.arg] = param.read(event)
            except ParamError as exc:
                errors.append(exc.error)
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
        """The route with a signature made of the same ``Param`` values the handler enforces."""

        def declared(**kwargs: Any) -> Any:
            """The view behind the resolver (the document reads its signature; tests resolve requests through it
            to check the lean handler against the resolver's validation, answers included)."""
            from aws_lambda_powertools.event_handler import Response

            answer = view(**kwargs)
            headers = dict(answer.get("headers") or {})
            content_type = headers.pop("Content-Type", None)
            return Response(answer["statusCode"], content_type,
                            json.loads(answer["body"]) if answer.get("body") else None, headers)

        declared.__name__ = declared.__qualname__ = view.__name__  # the operationId is made from it
        ordered = sorted(self.params, key=lambda p: p.source != "path")
        declared.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(p.arg, inspect.Parameter.KEYWORD_ONLY, annotation=p.annotation(),
                               default=inspect.Parameter.empty if p.source == "path" else p.default)
             for p in ordered],
            return_annotation=self.returns() if self.returns else inspect.Signature.empty)
        app.get(self.path.replace("{", "<").replace("}", ">"), summary=self.summary, tags=self.tags,
                responses=self.responses)(declared)
