"""API Gateway HTTP API payload format 2.0: request -> Lambda event, Lambda result -> HTTP response.

Pure functions (no sockets), so every rule is unit-tested. References: "Working with AWS Lambda proxy
integrations for HTTP APIs" (payload format 2.0 and response format inference).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Optional
from urllib.parse import parse_qsl

from local.config import ACCOUNT_ID

API_ID = "local"
DOMAIN_PREFIX = "local"
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP API payload quota

NOT_FOUND = (404, {"message": "Not Found"})
UNAUTHORIZED = (401, {"message": "Unauthorized"})
INTERNAL_ERROR = (500, {"message": "Internal Server Error"})
TOO_LARGE = (413, {"message": "Request Entity Too Large"})

# Content types API Gateway passes as text; anything else (including no content type and form posts)
# arrives base64-encoded with isBase64Encoded=true.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/ld+json")


def is_text_content_type(content_type: Optional[str]) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+json") or media.endswith("+xml")


def request_id() -> str:
    """API Gateway's request ids look like ``JKs7fhlyoAMEVbQ=`` (base64 of random bytes)."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _join(values: Iterable[tuple[str, str]], lower: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in values:
        name = name.lower() if lower else name
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


@dataclass
class HttpRequest:
    """What the gateway read off the socket."""

    method: str
    raw_path: str  # as sent, no query string
    raw_query: str  # as sent, without '?'
    headers: list[tuple[str, str]]  # in order, repeats kept
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    host: str = "127.0.0.1"
    port: int = 3000
    time_epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    request_id: str = field(default_factory=request_id)


def build_event(
    req: HttpRequest,
    route_key: str,
    path_parameters: dict[str, str],
    claims: Optional[dict[str, str]] = None,
    scopes: Optional[list[str]] = None,
) -> dict[str, Any]:
    """The payload 2.0 event for one request. Optional parts are absent (not null) when empty, like AWS."""
    cookies: list[str] = []
    plain: list[tuple[str, str]] = []
    for name, value in req.headers:
        if name.lower() == "cookie":  # cookies move to their own array and leave the headers
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            plain.append((name, value))
    headers = _join(plain, lower=True)
    headers.setdefault("host", req.host)
    headers["x-forwarded-for"] = req.source_ip
    headers["x-forwarded-port"] = str(req.port)
    headers["x-forwarded-proto"] = "http"
    headers["x-amzn-trace-id"] = f"Root=1-{req.time_epoch_ms // 1000:08x}-{secrets.token_hex(12)}"
    headers["content-length"] = str(len(req.body))
    when = datetime.fromtimestamp(req.time_epoch_ms / 1000, tz=timezone.utc)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": headers.get("host", req.host),
        "domainPrefix": DOMAIN_PREFIX,
        "http": {
            "method": req.method,
            "path": req.raw_path,
            "protocol": req.protocol,
            "sourceIp": req.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": req.request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": req.time_epoch_ms,
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": scopes}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.raw_path,
        "rawQueryString": req.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if req.raw_query:
        query = _join(parse_qsl(req.raw_query, keep_blank_values=True), lower=False)
        if query:
            event["queryStringParameters"] = query
    event["requestContext"] = context
    if path_parameters:
        event["pathParameters"] = path_parameters
    if req.body:
        if is_text_content_type(headers.get("content-type")):
            try:
                event["body"], event["isBase64Encoded"] = req.body.decode("utf-8"), False
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(req.body).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(req.body).decode(), True
    else:
        event["isBase64Encoded"] = False
    return event


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]  # repeats allowed (Set-Cookie)
    body: bytes


class BadLambdaResponse(ValueError):
    """The function returned something API Gateway cannot turn into a response (-> 500)."""


def json_response(status: int, payload: Any, request_id_: str = "") -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [("content-type", "application/json")]
    if request_id_:
        headers.append(("apigw-requestid", request_id_))
    return HttpResponse(status, headers, body)


def map_result(result: Any, request_id_: str = "") -> HttpResponse:
    """Turn a function's return value into the HTTP response, applying the 2.0 format inference rules.

    - A dict with ``statusCode`` is a structured response: statusCode, headers, cookies (-> Set-Cookie),
      body (str), isBase64Encoded.
    - Anything else that is valid JSON (dict without statusCode, list, str, number, bool, null) is sent as
      is: 200, ``content-type: application/json``, body = the JSON of the value.
    """
    if isinstance(result, dict) and "statusCode" in result:
        status = result["statusCode"]
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise BadLambdaResponse(f"invalid statusCode {status!r}")
        raw_headers = result.get("headers")
        raw_headers = {} if raw_headers is None else raw_headers
        if not isinstance(raw_headers, dict):
            raise BadLambdaResponse("headers must be an object")
        headers = [(str(k), _header_value(v)) for k, v in raw_headers.items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():  # tolerated by HTTP APIs
            headers.extend((str(name), _header_value(v)) for v in values)
        cookies = result.get("cookies")
        cookies = [] if cookies is None else cookies
        if not isinstance(cookies, list):
            raise BadLambdaResponse("cookies must be an array")
        headers.extend(("set-cookie", str(c)) for c in cookies)
        body = result.get("body")
        if body is None:
            data = b""
        elif isinstance(body, str):
            if result.get("isBase64Encoded"):
                try:
                    data = base64.b64decode(body, validate=True)
                except ValueError as exc:
                    raise BadLambdaResponse("body is not valid base64") from exc
            else:
                data = body.encode("utf-8")
        else:  # API Gateway stringifies a non-string body
            data = json.dumps(body).encode()
        if not any(k.lower() == "content-type" for k, _ in headers) and data:
            headers.append(("content-type", "application/json"))
        if request_id_:
            headers.append(("apigw-requestid", request_id_))
        return HttpResponse(status, headers, data)
    return HttpResponse(200, [("content-type", "application/json")] +
                        ([("apigw-requestid", request_id_)] if request_id_ else []),
                        json.dumps(result).encode())


def _header_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
