"""The local HTTP API's access log: the line API Gateway writes per request, in ``.local/logs/api-access.log``.

The keys are those of ``bazaar.resources.ACCESS_LOG_FORMAT`` (what CDK configures on the HTTP API stage), every
value a string and ``"-"`` when empty, as API Gateway renders ``$context`` variables. Like in AWS, the log covers
what never reaches a function: requests refused by the JWT authorizer (``authorizerError``), unknown routes,
oversized bodies. No header, no query string, no claim but ``sub``.

Wiring: ``Gateway.handle`` is wrapped by ``logged`` (one decorator in ``local/gateway.py``), and the stack wraps
its JWT authorizer in ``RecordingAuthorizer`` so the line knows the caller's ``sub`` or why the token was refused.

Local differences: ``integrationLatency`` is the whole invoke as the gateway sees it (worker start-up included
on a cold start); ``authorizerError`` is the local authorizer's reason (API Gateway words its own).
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from bazaar.resources import ACCESS_LOG_FILE, ACCESS_LOG_FORMAT
from local.authorizer import Unauthorized

EMPTY = "-"
_SAFE_REASON = re.compile(r"[^A-Za-z0-9 .,:'()_-]")


@dataclass
class _Decision:
    sub: str = EMPTY
    error: str = EMPTY


_decision: contextvars.ContextVar[Optional[_Decision]] = contextvars.ContextVar("authorizer_decision", default=None)


class RecordingAuthorizer:
    """The JWT authorizer, telling the access log what it decided for the current request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def authorize(self, authorization: Optional[str]) -> dict[str, str]:
        decision = _decision.get()
        try:
            claims = self.inner.authorize(authorization)
        except Unauthorized as exc:
            if decision is not None:
                decision.error = _reason(str(exc))
            raise
        if decision is not None:
            decision.sub = str(claims.get("sub") or EMPTY)
        return claims

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _reason(text: str) -> str:
    """The refusal reason, short and free of anything a caller sent that could be personal data."""
    text = text.strip()
    return text if text and len(text) <= 80 and not _SAFE_REASON.search(text) else "invalid token"


class AccessLog:
    """Appends one JSON line per request; one lock, so concurrent requests never interleave lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, entry: dict[str, str]) -> None:
        line = json.dumps(entry, separators=(",", ":"))
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


_logs: dict[Path, AccessLog] = {}
_logs_lock = threading.Lock()


def access_log(logs_dir: Path) -> AccessLog:
    path = logs_dir / ACCESS_LOG_FILE
    with _logs_lock:
        return _logs.setdefault(path, AccessLog(path))


def entry(req: Any, status: int, response_length: int, latency_ms: int, route_key: str, decision: _Decision,
          integration_ms: Optional[int], integration_error: str, error_message: str) -> dict[str, str]:
    """One line with exactly the keys of ``ACCESS_LOG_FORMAT``."""
    when = datetime.fromtimestamp(req.time_epoch_ms / 1000, tz=timezone.utc)
    values = {
        "requestId": req.request_id,
        "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": str(req.time_epoch_ms),
        "ip": req.source_ip,
        "method": req.method,
        "routeKey": route_key,
        "path": req.raw_path,
        "status": str(status),
        "protocol": req.protocol,
        "responseLength": str(response_length),
        "responseLatency": str(latency_ms),
        "integrationLatency": EMPTY if integration_ms is None else str(integration_ms),
        "integrationError": integration_error,
        "authorizerError": decision.error,
        "errorMessage": error_message,
        "sub": decision.sub,
    }
    assert values.keys() == ACCESS_LOG_FORMAT.keys()
    return {k: (v if v not in ("", None) else EMPTY) for k, v in values.items()}


def _gateway_message(body: bytes) -> str:
    """API Gateway's own error body is ``{"message": "..."}``."""
    try:
        doc = json.loads(body)
    except ValueError:
        return EMPTY
    return str(doc["message"]) if isinstance(doc, dict) and set(doc) == {"message"} else EMPTY


def logged(handle: Callable[[Any, Any], tuple[Any, str, str]]) -> Callable[[Any, Any], tuple[Any, str, str]]:
    """Decorates ``Gateway.handle(req) -> (response, function name or "-", note)`` to write one access-log line."""

    @functools.wraps(handle)
    def wrapper(gateway: Any, req: Any) -> tuple[Any, str, str]:
        start = time.monotonic()
        decision = _Decision()
        token = _decision.set(decision)
        try:
            response, fn, note = handle(gateway, req)
        finally:
            _decision.reset(token)
        logs_dir = getattr(gateway.runtime, "logs_dir", None)
        if logs_dir is None:  # a gateway without a Lambda runtime's log directory (unit tests)
            return response, fn, note
        elapsed = round((time.monotonic() - start) * 1000)
        invoked = note.split(" ", 1)[0] in ("cold", "warm")
        failure = note.split(" ", 1)[1] if invoked and " " in note else EMPTY
        match = gateway.router.match(req.method, req.raw_path)
        route_key = match.route.target.route.key if match else EMPTY
        generated = not invoked or failure != EMPTY  # the gateway answered, not the function
        access_log(logs_dir).write(entry(
            req, response.status, len(response.body), elapsed, route_key, decision,
            integration_ms=elapsed if invoked else None, integration_error=failure,
            error_message=_gateway_message(response.body) if generated and response.status >= 400 else EMPTY))
        return response, fn, note

    return wrapper
