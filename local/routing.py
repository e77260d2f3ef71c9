"""HTTP API route selection, as API Gateway does it.

- A route key is ``METHOD /path`` with literal segments, ``{param}`` (one non-empty segment) and a trailing
  greedy ``{proxy+}`` (one or more segments).
- The most specific route wins: compared segment by segment, a literal beats ``{param}``, which beats
  ``{proxy+}``; an exact method beats ``ANY``.
- If no route matches the method *and* path, the answer is 404 ``{"message":"Not Found"}`` even when the path
  exists for another method (HTTP APIs do not answer 405).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Iterable, Optional, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

_PARAM = re.compile(r"^\{([A-Za-z0-9_]+)\}$")
_GREEDY = re.compile(r"^\{([A-Za-z0-9_]+)\+\}$")
LITERAL, PARAM, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Segment:
    kind: int
    value: str  # the literal text, or the parameter name


def parse_path(path: str) -> tuple[Segment, ...]:
    if path == "/":
        return ()
    segments = []
    parts = path.strip("/").split("/")
    for i, part in enumerate(parts):
        if m := _GREEDY.match(part):
            if i != len(parts) - 1:
                raise ValueError(f"{path}: a greedy variable must be the last segment")
            segments.append(Segment(GREEDY, m.group(1)))
        elif m := _PARAM.match(part):
            segments.append(Segment(PARAM, m.group(1)))
        else:
            segments.append(Segment(LITERAL, part))
    return tuple(segments)


@dataclass(frozen=True)
class Route(Generic[T]):
    method: str  # GET, POST, ... or ANY
    path: str
    target: T
    segments: tuple[Segment, ...]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def specificity(self) -> tuple:
        """Smaller sorts first = more specific."""
        return (tuple(s.kind for s in self.segments) + (LITERAL - 1,), self.method == "ANY")

    def match(self, method: str, parts: list[str]) -> Optional[dict[str, str]]:
        if self.method not in ("ANY", method):
            return None
        params: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            if seg.kind == GREEDY:
                rest = parts[i:]
                if not rest or rest == [""]:
                    return None
                params[seg.value] = unquote("/".join(rest))
                return params
            if i >= len(parts):
                return None
            if seg.kind == LITERAL:
                if parts[i] != seg.value:
                    return None
            elif not parts[i]:
                return None
            else:
                params[seg.value] = unquote(parts[i])
        return params if len(parts) == len(self.segments) else None


@dataclass(frozen=True)
class Match(Generic[T]):
    route: Route[T]
    path_parameters: dict[str, str]


class Router(Generic[T]):
    def __init__(self, routes: Iterable[tuple[str, str, T]] = ()) -> None:
        self._routes: list[Route[T]] = []
        for method, path, target in routes:
            self.add(method, path, target)

    def add(self, method: str, path: str, target: T) -> None:
        route = Route(method.upper(), path, target, parse_path(path))
        if any(r.key == route.key for r in self._routes):
            raise ValueError(f"duplicate route {route.key}")
        self._routes.append(route)
        self._routes.sort(key=Route.specificity)

    @property
    def routes(self) -> list[Route[T]]:
        return list(self._routes)

    def match(self, method: str, raw_path: str) -> Optional[Match[T]]:
        """The most specific route for ``method`` and ``raw_path`` (no query string), or None (404)."""
        parts = [] if raw_path in ("", "/") else raw_path[1:].split("/")
        for route in self._routes:  # sorted most specific first
            params = route.match(method.upper(), parts)
            if params is not None:
                return Match(route, params)
        return None
