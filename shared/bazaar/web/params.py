"""Request parameters (path, query, header) checked without the request resolver, with the answers its validation
gives (``loc``/``msg``/``type`` as pydantic writes them), and the API Gateway result a lean route answers with.

Each ``Param`` is declared once: ``read`` enforces it at run time, ``annotation`` declares it on the resolver that
documents the route (``bazaar.web.lean``), so the OpenAPI document cannot disagree with what is enforced."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Mapping, Optional
from urllib.parse import parse_qsl

# An integer as pydantic reads one from a string: surrounding whitespace, a sign, "_" between digits, a zero fraction.
_INTEGER = re.compile(r"\s*([+-]?)([0-9]+(?:_[0-9]+)*)(?:\.0*)?\s*")
_REQUIRED: Any = ...  # ``Param(default=REQUIRED)``: the parameter must be sent
REQUIRED = _REQUIRED


class ParamError(ValueError):
    def __init__(self, loc: list[Any], msg: str, kind: str) -> None:
        super().__init__(msg)
        self.error = {"loc": loc, "msg": msg, "type": kind}


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` as pydantic (Rust's regex crate) matches it: a search in which ``$`` is the end of the text. Python's
    ``$`` also matches before a final newline, which would let ``"abc\\n"`` through where the resolver refuses it."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def header(event: Mapping[str, Any], name: str) -> Optional[str]:
    """A request header by its lower-case name, whatever case the event spells it in (as the resolver reads them)."""
    found = None
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            found = value
    return found


@dataclass(frozen=True)
class Param:
    """One parameter as the client sends it (``name``: the query name, the lower-case header name or the path
    segment) and as the view receives it (``arg``). ``default=REQUIRED``: a query or header parameter that must be
    sent. ``description`` is for the document only."""

    name: str
    source: Literal["path", "query", "header"]
    type: type = str
    default: Any = None
    ge: Optional[int] = None
    le: Optional[int] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    pattern: Optional[str] = None
    description: Optional[str] = None

    @property
    def arg(self) -> str:
        return self.name.replace("-", "_")

    @property
    def required(self) -> bool:
        return self.source == "path" or self.default is REQUIRED

    def read(self, event: Mapping[str, Any], path: Optional[Mapping[str, str]] = None) -> Any:
        """The value, or ``ParamError``. ``path``: the path parameters as the route matched them (default: the
        event's ``pathParameters``)."""
        if self.source == "path":
            raw = (path if path is not None else event.get("pathParameters") or {}).get(self.name)
        elif self.source == "header":
            raw = header(event, self.name)
        else:
            raw = (event.get("queryStringParameters") or {}).get(self.name)
        loc = [self.source, self.name]
        if raw is None:
            if self.required:
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
        if self.pattern is not None and not _pattern(self.pattern).search(raw):
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
                                          ("max_length", self.max_length), ("pattern", self.pattern),
                                          ("description", self.description))
                       if v is not None}
        marker = Header(alias=self.name, **constraints) if self.source == "header" else Query(**constraints)
        kind = self.type if self.default is not None else Opt[self.type]
        return Annotated[kind, marker]


def read_params(params: tuple[Param, ...], event: Mapping[str, Any],
                path: Optional[Mapping[str, str]] = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The values of ``params`` by argument name, and the errors, path first, then query, then headers (the
    resolver's order)."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for source in ("path", "query", "header"):
        for param in params:
            if param.source != source:
                continue
            try:
                values[param.arg] = param.read(event, path)
            except ParamError as exc:
                errors.append(exc.error)
    return values, errors


def result(status: int, body: Any = None, headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """An API Gateway v2 result: a JSON body (serialized as the resolver does), or none (204, 304)."""
    out: dict[str, Any] = {"statusCode": status, "headers": dict(headers or {}), "isBase64Encoded": False}
    if body is not None:
        out["headers"]["Content-Type"] = "application/json"
        out["body"] = json.dumps(body, separators=(",", ":"))
    return out
