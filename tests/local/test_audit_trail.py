"""The local audit trail: the gateway's access log (API Gateway's line per request, authorizer refusals included)
and ``make audit`` reading it together with the functions' audit records."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import pytest

from bazaar import manifest
from bazaar.resources import ACCESS_LOG_FILE, ACCESS_LOG_FORMAT
from local import apigw
from local.access_log import RecordingAuthorizer, _reason
from local.audit import Filters, parse_time, read_records, select
from local.authorizer import Unauthorized, http_jwks_fetcher
from local.cli import CommandError
from local.gateway import Gateway, build_router
from local.runtime import InvokeResult

SUB = "0b6c2f0e-1111-4222-8333-444455556666"


class FakeAuthorizer:
    """Accepts "Bearer good" as a seller, refuses anything else with a reason."""

    def authorize(self, authorization: Optional[str]) -> dict[str, str]:
        if authorization == "Bearer good":
            return {"sub": SUB, "cognito:groups": "[seller]", "token_use": "access"}
        raise Unauthorized("expired or no exp" if authorization else "no Authorization header")


class FakeRuntime:
    def __init__(self, logs_dir: Path, result: InvokeResult) -> None:
        self.logs_dir, self.result, self.events = logs_dir, result, []

    def invoke(self, name: str, event: dict[str, Any]) -> InvokeResult:
        self.events.append((name, event))
        return self.result


def gateway(tmp_path: Path, result: Optional[InvokeResult] = None) -> Gateway:
    runtime = FakeRuntime(tmp_path, result or InvokeResult(ok=True, cold=True, payload={
        "statusCode": 201, "headers": {"content-type": "application/json"}, "body": '{"ok":true}'}))
    return Gateway(build_router(list(manifest.FUNCTIONS)), RecordingAuthorizer(FakeAuthorizer()), runtime, 3000,
                   say=lambda line: None)


def request(method: str, path: str, authorization: Optional[str] = None) -> apigw.HttpRequest:
    headers = [("authorization", authorization)] if authorization else []
    return apigw.HttpRequest(method=method, raw_path=path, raw_query="cursor=secret-cursor", headers=headers,
                             body=b'{"name":"x"}', source_ip="203.0.113.9")


def access_lines(tmp_path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (tmp_path / ACCESS_LOG_FILE).read_text().splitlines()]


def test_every_request_gets_one_line_with_exactly_the_deployed_keys(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    for req in (request("POST", "/products", "Bearer good"), request("POST", "/products"),
                request("GET", "/nowhere"), request("GET", "/health")):
        gw.handle(req)
    lines = access_lines(tmp_path)
    assert len(lines) == 4
    for line in lines:
        assert list(line) == list(ACCESS_LOG_FORMAT)  # same keys, same order as the HTTP API stage's format
        assert all(isinstance(v, str) and v for v in line.values())
    text = (tmp_path / ACCESS_LOG_FILE).read_text()
    assert "Bearer" not in text and "good" not in text and "secret-cursor" not in text


def test_accepted_request_names_the_caller_and_the_route(tmp_path: Path) -> None:
    gateway(tmp_path).handle(request("POST", "/products", "Bearer good"))
    [line] = access_lines(tmp_path)
    assert (line["routeKey"], line["status"], line["sub"], line["authorizerError"]) == (
        "POST /products", "201", SUB, "-")
    assert line["integrationLatency"] != "-" and line["errorMessage"] == "-" and line["ip"] == "203.0.113.9"


def test_authorizer_refusal_is_logged_although_no_function_runs(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    response, fn, _ = gw.handle(request("DELETE", "/products/p1", "Bearer expired"))
    assert response.status == 401 and gw.runtime.events == []
    [line] = access_lines(tmp_path)
    assert (line["routeKey"], line["status"], line["sub"], line["authorizerError"], line["errorMessage"]) == (
        "DELETE /products/{product_id}", "401", "-", "expired or no exp", "Unauthorized")
    assert line["integrationLatency"] == "-"


def test_unknown_route_and_function_failure(tmp_path: Path) -> None:
    gateway(tmp_path).handle(request("GET", "/nowhere"))
    failing = gateway(tmp_path, InvokeResult(ok=False, cold=False, error={"errorType": "Sandbox.Timedout"}))
    failing.handle(request("GET", "/health"))
    missing, crashed = access_lines(tmp_path)
    assert (missing["routeKey"], missing["status"], missing["errorMessage"]) == ("-", "404", "Not Found")
    assert (crashed["status"], crashed["integrationError"], crashed["errorMessage"]) == (
        "500", "Sandbox.Timedout", "Internal Server Error")


def test_refusal_reasons_never_echo_what_the_caller_sent() -> None:
    assert _reason("expired or no exp") == "expired or no exp"
    assert _reason("algorithm 'someone@example.com' not accepted") == "invalid token"
    assert _reason("x" * 200) == "invalid token"


def test_jwks_is_fetched_over_http_only() -> None:
    with pytest.raises(OSError, match="unknown url type"):
        http_jwks_fetcher("file:///etc/passwd")()


# --- make audit ------------------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _audit_line(minutes: int, actor: str, action: str, resource: str, outcome: str, status: int,
                roles: list[str]) -> str:
    ts = (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"level": "INFO", "message": f"audit {action} {outcome}", "audit": True, "actor": actor,
                       "roles": roles, "action": action, "resource": resource, "outcome": outcome,
                       "status": status, "request_id": f"r{minutes}", "timestamp": ts})


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    (tmp_path / "create_product.log").write_text("\n".join([
        _audit_line(0, "seller-1", "create_product", "/products/p1", "success", 201, ["seller"]),
        json.dumps({"level": "INFO", "message": "not an audit record", "actor": "x"}),
        "Traceback (most recent call last): not JSON",
        _audit_line(5, "customer-1", "create_product", "/products", "denied", 403, ["customer"]),
    ]) + "\n")
    (tmp_path / "update_product.log").write_text(
        _audit_line(10, "admin-1", "update_product", "/products/p1", "success", 200, ["admin"]) + "\n")
    epoch = int((T0 + timedelta(minutes=7)).timestamp() * 1000)
    refused = {k: "-" for k in ACCESS_LOG_FORMAT} | {
        "requestId": "gw1", "requestTimeEpoch": str(epoch), "method": "DELETE",
        "routeKey": "DELETE /products/{product_id}", "path": "/products/p1", "status": "401",
        "authorizerError": "no Authorization header"}
    served = refused | {"requestId": "gw2", "status": "200", "authorizerError": "-", "sub": "seller-1"}
    (tmp_path / ACCESS_LOG_FILE).write_text(json.dumps(refused) + "\n" + json.dumps(served) + "\n")
    return tmp_path


def test_audit_reads_audit_records_and_authorizer_refusals_in_time_order(logs_dir: Path) -> None:
    records = read_records(logs_dir)
    assert [(r.request_id, r.actor, r.action, r.outcome, r.source) for r in records] == [
        ("r0", "seller-1", "create_product", "success", "function"),
        ("r5", "customer-1", "create_product", "denied", "function"),
        ("gw1", "anonymous", "delete_product", "denied", "gateway"),  # the route's function, from the manifest
        ("r10", "admin-1", "update_product", "success", "function"),
    ]
    assert records[-1].roles == ("admin",)


@pytest.mark.parametrize("filters, expected", [
    (Filters(actors=frozenset({"seller-1"})), ["r0"]),
    (Filters(action="*_product", outcome="denied"), ["r5", "gw1"]),
    (Filters(resource="/products/p1"), ["r0", "gw1", "r10"]),
    (Filters(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=7)), ["r5", "gw1"]),
    (Filters(action="delete_product", outcome="success"), []),
])
def test_audit_filters(logs_dir: Path, filters: Filters, expected: list[str]) -> None:
    assert [r.request_id for r in select(read_records(logs_dir), filters)] == expected


def test_audit_time_arguments() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    assert parse_time("15m", now) == now - timedelta(minutes=15)
    assert parse_time("2h", now) == now - timedelta(hours=2)
    assert parse_time("1d", now) == now - timedelta(days=1)
    assert parse_time("2026-11-30T10:00:00Z") == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
    assert parse_time("2026-11-30T10:00:00") == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
    with pytest.raises(CommandError, match="not a time"):
        parse_time("yesterday")
