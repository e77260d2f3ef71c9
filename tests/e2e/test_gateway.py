"""The gateway and authorizer over real HTTP with real Cognito (moto) tokens, for every manifest route."""

from __future__ import annotations

import base64
import json
import re
import stat
import threading
import time

import pytest
from joserfc import jwk, jwt as jrfc
from moto.utilities.utils import load_resource

from bazaar import manifest
from tests.e2e.conftest import http, tokens

pytestmark = pytest.mark.e2e

GATEWAY_NOT_FOUND = {"message": "Not Found"}
UNAUTHORIZED = {"message": "Unauthorized"}


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def sign(claims: dict, key) -> str:
    return jrfc.encode({"kid": "dummy", "alg": "RS256", "typ": "JWT"}, claims, key)


def user_in(stack, group: str) -> str:
    return next(u["username"] for u in stack.info["users"] if u["group"] == group)


def concrete(stack, path: str) -> str:
    return path.replace("{product_id}", stack.info["demo_product_ids"][0])


def test_stack_json_has_the_contract_keys(stack):
    info = stack.info
    for key in ("api_url", "aws_endpoint_url", "region", "table_name", "user_pool_id", "user_pool_client_id",
                "payment_webhook_secret", "users"):
        assert info[key], key
    assert info["api_url"] == f"http://127.0.0.1:{stack.port}"
    assert info["region"] == "eu-west-1"
    groups = [u["group"] for u in info["users"]]
    assert groups.count("customer") >= 2 and groups.count("seller") >= 2 and groups.count("admin") >= 1
    for user in info["users"]:
        assert set(user) >= {"username", "password", "group", "sub"}
        assert len(user["password"]) >= 12
    assert stat.S_IMODE((stack.local_dir / "stack.json").stat().st_mode) == 0o600  # it holds passwords


def test_console_never_shows_passwords_or_secrets(stack):
    console = stack.console_text()
    assert stack.info["api_url"] in console
    for user in stack.info["users"]:
        assert user["password"] not in console
    assert stack.info["payment_webhook_secret"] not in console


def test_health(stack):
    resp = http("GET", stack.url + "/health")
    assert resp.status == 200
    assert resp.json()["status"] == "ok"
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers.get("apigw-requestid")


@pytest.mark.parametrize("method,path", [("GET", "/nope"), ("GET", "/products/p1/extra"), ("PUT", "/products"),
                                         ("DELETE", "/health"), ("GET", "/health/"), ("POST", "/")])
def test_unknown_route_is_api_gateway_404(stack, method, path):
    resp = http(method, stack.url + path, body={} if method in ("POST", "PUT") else None)
    assert resp.status == 404
    assert resp.json() == GATEWAY_NOT_FOUND


@pytest.mark.parametrize("fn", [f for f in manifest.routes() if f.route.public], ids=lambda f: f.name)
def test_public_routes_answer_without_a_token(stack, fn):
    resp = http(fn.route.method, stack.url + concrete(stack, fn.route.path))
    if fn.route.signed:  # no authorizer either: the function itself refuses an unsigned request
        assert resp.status == 401 and resp.headers["content-type"] == "application/problem+json", resp.body[:300]
    else:
        assert resp.status < 400, resp.body[:300]
    # and a garbage token is ignored on a public route (no authorizer)
    resp = http(fn.route.method, stack.url + concrete(stack, fn.route.path), token="garbage")
    assert resp.status == 401 if fn.route.signed else resp.status < 400


@pytest.fixture(scope="module")
def bad_tokens(stack) -> dict[str, str]:
    seller = tokens(stack, user_in(stack, "seller"))
    real = claims_of(seller["AccessToken"])
    moto_key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    now = int(time.time())
    return {
        "forged (another RSA key)": sign(real, jwk.RSAKey.generate_key(2048)),
        "id token": seller["IdToken"],
        "expired": sign({**real, "iat": now - 7200, "exp": now - 3600}, moto_key),
        "other client": sign({**real, "client_id": "someone-else"}, moto_key),
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize("fn", [f for f in manifest.routes() if not f.route.public], ids=lambda f: f.name)
def test_protected_routes_refuse_missing_and_bad_tokens(stack, bad_tokens, fn):
    url = stack.url + concrete(stack, fn.route.path)
    body = {} if fn.route.method in ("POST", "PATCH", "PUT") else None
    resp = http(fn.route.method, url, body=body)
    assert (resp.status, resp.json()) == (401, UNAUTHORIZED)
    for name, token in bad_tokens.items():
        resp = http(fn.route.method, url, body=body, token=token)
        assert (resp.status, resp.json()) == (401, UNAUTHORIZED), name


@pytest.mark.parametrize("fn", [f for f in manifest.routes() if not f.route.public], ids=lambda f: f.name)
def test_protected_routes_reach_the_function_with_a_valid_token(stack, fn):
    token = tokens(stack, user_in(stack, fn.route.groups[0]))["AccessToken"]
    body = {} if fn.route.method in ("POST", "PATCH", "PUT") else None
    # an unknown id: the function answers (its own 404/422 problem), not the gateway
    resp = http(fn.route.method, stack.url + fn.route.path.replace("{product_id}", "00000000000000000000000000"),
                body=body, token=token)
    assert resp.status not in (401, 500, 502, 503), resp.body[:300]
    assert resp.json() != GATEWAY_NOT_FOUND


def test_claims_reach_the_function_in_api_gateway_shape(stack):
    """seller_id is the token's sub; roles come from cognito:groups passed as "[seller]"."""
    seller = next(u for u in stack.info["users"] if u["group"] == "seller")
    token = tokens(stack, seller["username"])["AccessToken"]
    created = http("POST", stack.url + "/products", token=token,
                   body={"name": "e2e", "price_cents": 100, "currency": "EUR", "stock": 1})
    assert created.status == 201, created.body
    assert created.json()["seller_id"] == seller["sub"]
    assert created.headers["location"] == f"/products/{created.json()['product_id']}"
    customer = tokens(stack, user_in(stack, "customer"))["AccessToken"]
    forbidden = http("POST", stack.url + "/products", token=customer,
                     body={"name": "e2e", "price_cents": 100, "currency": "EUR"})
    assert forbidden.status == 403
    got = http("GET", stack.url + created.headers["location"])
    assert got.status == 200 and got.json()["name"] == "e2e"


def test_concurrent_requests_are_served_concurrently(stack):
    http("GET", stack.url + "/health")  # warm
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(http("GET", stack.url + "/health").status))
               for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 12


def test_function_logs_are_json_lines_without_secrets(stack):
    token = tokens(stack, user_in(stack, "seller"))["AccessToken"]
    http("GET", stack.url + "/health", token=token)
    logs = list((stack.local_dir / "logs").glob("*.log"))
    assert logs
    secrets = [u["password"] for u in stack.info["users"]] + [stack.info["payment_webhook_secret"]]
    for path in logs:
        for line in path.read_text().splitlines():
            assert isinstance(json.loads(line), dict), (path.name, line[:200])
            assert not re.search(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.", line), path.name
            assert not any(s in line for s in secrets), path.name


def test_body_over_the_http_api_limit_is_413_before_it_is_read(stack):
    import socket

    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as s:
        s.sendall(b"POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 20000000\r\n\r\n{")
        head = s.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413")
    assert head.endswith('{"message":"Request Entity Too Large"}')


def test_bad_framing_closes_the_connection_so_a_body_is_never_a_second_request(stack):
    import socket

    raw = (b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n"
           b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):  # the gateway closes the connection after its one answer
            received += chunk
    assert received.startswith(b"HTTP/1.1 400")
    assert received.count(b"HTTP/1.1 ") == 1
