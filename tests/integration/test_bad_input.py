"""Contract §2: every malformed or invalid request gets its 4xx as problem+json, never a 5xx, and changes nothing."""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pytest
import redis

from bazaar import wiring
from tests.integration.api import NEW, SELLER, Api, Result
from tests.integration.conftest import invoke_handler, provision, scan_table
from tests.support.events import http_event

MAX = 64 * 1024


# Every case must leave the table as it found it (and asserts so), so the cases share one table and one product:
# provisioning per case would dominate the run time.
@pytest.fixture(scope="module")
def shared_env(moto_url: str, valkey_server) -> Iterator[None]:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    cache_url = f"redis://{valkey_server.host}:{valkey_server.port}/0"
    redis.Redis.from_url(cache_url).flushall()
    with pytest.MonkeyPatch.context() as mp:
        provision(mp, cache_url)
        yield
    wiring.reset()


@pytest.fixture(scope="module")
def api(shared_env: None) -> Api:
    return Api(invoke_handler)


@pytest.fixture(scope="module")
def product(api: Api) -> dict[str, Any]:
    return api.new_product()


@pytest.fixture
def table_items(shared_env: None) -> Callable[[], list[dict[str, Any]]]:
    return scan_table


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    send: Callable[[Api, str], Result]  # (api, id of an existing product) -> result


def post(body: Any, **kw: Any) -> Callable[[Api, str], Result]:
    return lambda api, pid: api.create(body, **kw)


def patch(body: Any, headers: Optional[dict] = None) -> Callable[[Api, str], Result]:
    return lambda api, pid: api.patch(pid, body, headers=headers)


def on_id(method: str, product_id: str) -> Callable[[Api, str], Result]:
    def send(api: Api, pid: str) -> Result:
        if method == "GET":
            return api.get(product_id)
        if method == "PATCH":
            return api.patch(product_id, {"stock": 1})
        return api.delete(product_id)
    return send


def listing(query: str) -> Callable[[Api, str], Result]:
    return lambda api, pid: api.list(query)


def base64_post(raw: bytes, content_type: str = "application/json") -> Callable[[Api, str], Result]:
    """The body as API Gateway passes binary (or non-text) content: base64, ``isBase64Encoded``."""
    def send(api: Api, pid: str) -> Result:
        event = http_event("POST", "/products", body=base64.b64encode(raw).decode(), claims=SELLER,
                           headers={"Content-Type": content_type})
        event["isBase64Encoded"] = True
        return api.call("create_product", event)
    return send


def base64_patch(raw: bytes) -> Callable[[Api, str], Result]:
    def send(api: Api, pid: str) -> Result:
        event = api.item_event("PATCH", pid, body=base64.b64encode(raw).decode(), claims=SELLER)
        event["isBase64Encoded"] = True
        return api.call("update_product", event)
    return send


def with_content_type(content_type: str, body: Any = None) -> Callable[[Api, str], Result]:
    return lambda api, pid: api.create(NEW if body is None else body, headers={"Content-Type": content_type})


def big_json(size: int) -> str:
    body = json.dumps(dict(NEW, description=""))
    return body[:-1] + ', "description": "' + "x" * (size - len(body) - 19) + '"}'


def nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels - 1):
        value = [value]
    return value


with_ = lambda **changes: dict(NEW, **changes)  # noqa: E731
LONG_ID = "A" * 3000

CASES = [
    # malformed JSON: 400
    Case("post-malformed-json", 400, post("{nope")),
    Case("post-truncated-json", 400, post('{"name": "a"')),
    Case("post-blank-body", 400, post(" ")),
    Case("patch-malformed-json", 400, patch("{'stock': 1}")),
    # deep nesting: Python's parser gives up near 1,000 levels (RecursionError); Bazaar refuses beyond 32 (400)
    Case("post-nested-arrays-2KB", 400, post("[" * 2048)),
    Case("post-nested-arrays-closed", 400, post("[" * 1000 + "]" * 1000)),
    Case("post-nested-objects", 400, post('{"a":' * 600 + "1" + "}" * 600)),
    Case("post-nested-in-a-field", 400, post('{"name": ' + "[" * 1500 + "]" * 1500 + "}")),
    Case("post-nested-33-levels", 400, post(json.dumps(with_(description=nested(33))))),
    Case("patch-nested-arrays-2KB", 400, patch("[" * 2048)),
    Case("patch-nested-objects", 400, patch('{"a":' * 600 + "1" + "}" * 600)),
    Case("patch-nested-in-a-field", 400, patch('{"stock": ' + "[" * 1500 + "]" * 1500 + "}")),
    Case("post-nested-base64", 400, base64_post(b"[" * 4000)),
    # integers longer than Python converts (4,300 digits): a value no field accepts (422)
    Case("post-integer-5000-digits", 422, post('{"name": "a", "currency": "EUR", "price_cents": ' + "9" * 5000 + "}")),
    Case("post-negative-integer-5000-digits", 422, post(
        '{"name": "a", "currency": "EUR", "price_cents": -' + "9" * 5000 + "}")),
    Case("post-integer-5000-digits-unknown-field", 422, post(json.dumps(NEW)[:-1] + ', "x": ' + "1" * 5000 + "}")),
    Case("post-integer-5000-digits-in-array", 422, post("[" + "1" * 5000 + "]")),
    Case("patch-integer-5000-digits", 422, patch('{"stock": ' + "9" * 5000 + "}")),
    Case("patch-integer-5000-digits-name", 422, patch('{"name": ' + "9" * 5000 + "}")),
    # a body that is JSON but not an object: 422
    Case("post-json-array", 422, post("[]")),
    Case("post-json-array-of-object", 422, post(json.dumps([NEW]))),
    Case("post-json-string", 422, post('"a product"')),
    Case("post-json-number", 422, post("5")),
    Case("post-json-true", 422, post("true")),
    Case("post-json-null", 422, post("null")),
    Case("post-empty-body", 422, post("")),
    Case("patch-json-array", 422, patch("[]")),
    Case("patch-json-string", 422, patch('"x"')),
    Case("patch-json-number", 422, patch("7")),
    Case("patch-json-array-of-object", 422, patch(json.dumps([{"stock": 1}]))),
    Case("post-json-array-base64", 422, base64_post(json.dumps([NEW]).encode())),
    # bytes that are not UTF-8 text (API Gateway base64-encodes them): 400
    Case("post-not-utf8", 400, base64_post(b'{"name": "\xff\xfe"}')),
    Case("post-utf16-json", 400, base64_post(json.dumps(NEW).encode("utf-16"))),
    Case("patch-not-utf8", 400, base64_patch(b"\x89PNG\r\n\x1a\n")),
    # not JSON at all: 415
    Case("content-type-text", 415, with_content_type("text/plain")),
    Case("content-type-octet-stream", 415, base64_post(b"\x00\x01", "application/octet-stream")),
    Case("content-type-xml", 415, with_content_type("application/xml", "<product/>")),
    Case("content-type-form", 415, with_content_type("application/x-www-form-urlencoded",
                                                      "name=Lamp&price_cents=100&currency=EUR")),
    Case("content-type-multipart", 415, with_content_type(
        "multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nLamp\r\n--b--')),
    Case("patch-content-type-form", 415, patch("name=Lamp", headers={"Content-Type": "application/x-www-form-urlencoded"})),
    # wrong types (strict: no coercion)
    Case("price-as-string", 422, post(with_(price_cents="12"))),
    Case("price-as-float", 422, post(with_(price_cents=12.5))),
    Case("price-as-fractional-float-just-above-1", 422, post(with_(price_cents=1.000001))),
    Case("price-as-whole-float-over-1e9", 422, post(with_(price_cents=1e10))),
    Case("price-as-infinity", 422, post(json.dumps(NEW).replace("4999", "1e999"))),
    Case("patch-stock-as-fractional-float", 422, patch({"stock": 2.5})),
    Case("stock-as-bool", 422, post(with_(stock=True))),
    Case("name-as-number", 422, post(with_(name=5))),
    Case("name-as-list", 422, post(with_(name=["a"]))),
    Case("currency-as-object", 422, post(with_(currency={"code": "EUR"}))),
    Case("patch-stock-as-string", 422, patch({"stock": "1"})),
    Case("patch-price-as-bool", 422, patch({"price_cents": False})),
    # missing, unknown and immutable fields
    Case("missing-name", 422, post({k: v for k, v in NEW.items() if k != "name"})),
    Case("missing-price", 422, post({k: v for k, v in NEW.items() if k != "price_cents"})),
    Case("empty-object", 422, post({})),
    Case("unknown-field", 422, post(with_(colour="red"))),
    Case("client-sets-id", 422, post(with_(product_id="01ABCDEFGHJKMNPQRSTVWXYZ00"))),
    Case("client-sets-version", 422, post(with_(version=7))),
    Case("patch-unknown-field", 422, patch({"colour": "red"})),
    Case("patch-version", 422, patch({"version": 99})),
    Case("patch-seller", 422, patch({"seller_id": "seller-2"})),
    Case("patch-password-field", 422, patch({"password": "hunter2hunter2"})),
    # nulls and empty PATCH
    Case("patch-null-name", 422, patch({"name": None})),
    Case("patch-null-price", 422, patch({"price_cents": None, "stock": 1})),
    Case("patch-null-currency", 422, patch({"currency": None})),
    Case("patch-empty", 422, patch({})),
    Case("patch-empty-with-stale-if-match", 422, patch({}, headers={"If-Match": '"stale.1"'})),  # 422 before 412
    Case("patch-invalid-with-stale-if-match", 422, patch({"stock": -1}, headers={"If-Match": '"stale.1"'})),
    Case("post-null-name", 422, post(with_(name=None))),
    # out of range
    Case("price-0", 422, post(with_(price_cents=0))),
    Case("price-negative", 422, post(with_(price_cents=-5))),
    Case("price-1e9+1", 422, post(with_(price_cents=10**9 + 1))),
    Case("price-huge", 422, post(with_(price_cents=10**40))),
    Case("stock--1", 422, post(with_(stock=-1))),
    Case("stock-1e6+1", 422, post(with_(stock=10**6 + 1))),
    Case("name-empty", 422, post(with_(name=""))),
    Case("name-201", 422, post(with_(name="n" * 201))),
    Case("description-5001", 422, post(with_(description="d" * 5001))),
    Case("patch-price-0", 422, patch({"price_cents": 0})),
    Case("patch-stock-1e6+1", 422, patch({"stock": 10**6 + 1})),
    Case("patch-name-201", 422, patch({"name": "n" * 201})),
    Case("patch-description-5001", 422, patch({"description": "d" * 5001})),
    # currency
    Case("currency-JPY", 422, post(with_(currency="JPY"))),
    Case("currency-lowercase", 422, post(with_(currency="eur"))),
    Case("currency-empty", 422, post(with_(currency=""))),
    Case("patch-currency-JPY", 422, patch({"currency": "JPY"})),
    # size limit: 413 before anything is parsed
    Case("post-over-64KiB", 413, post(big_json(MAX + 1))),
    Case("post-over-64KiB-not-json", 413, post("{" * (MAX + 1))),
    Case("post-over-64KiB-multibyte", 413, post(json.dumps(with_(description="é" * (MAX // 2 + 1))))),
    Case("post-over-64KiB-base64", 413, base64_post(big_json(MAX + 1).encode())),
    Case("patch-over-64KiB", 413, patch(json.dumps({"description": "d" * MAX}))),
    Case("post-exactly-64KiB-too-long-description", 422, post(big_json(MAX))),
    Case("post-exactly-64KiB-base64", 422, base64_post(big_json(MAX).encode())),
    Case("post-64KiB-minus-1-base64", 422, base64_post(big_json(MAX - 1).encode())),
    Case("post-64KiB-minus-2-base64", 422, base64_post(big_json(MAX - 2).encode())),
    # query values: 400
    Case("limit-0", 400, listing("limit=0")),
    Case("limit-101", 400, listing("limit=101")),
    Case("limit-abc", 400, listing("limit=abc")),
    Case("limit-1,2", 400, listing("limit=1&limit=2")),
    Case("limit-negative", 400, listing("limit=-1")),
    Case("limit-float", 400, listing("limit=1.5")),
    Case("limit-empty", 400, listing("limit=")),
    Case("limit-huge", 400, listing("limit=" + "9" * 400)),
    Case("cursor-empty", 400, listing("cursor=")),
    Case("cursor-garbage", 400, listing("cursor=garbage")),
    Case("cursor-oversized", 400, listing("cursor=" + "A" * 5000)),
    Case("seller-id-with-space", 400, listing("seller_id=a%20b")),
    Case("seller-id-too-long", 400, listing("seller_id=" + "s" * 129)),
    Case("seller-id-empty", 400, listing("seller_id=")),
    # odd product ids: 404
    Case("get-path-traversal", 404, on_id("GET", "../x")),
    Case("get-3000-chars", 404, on_id("GET", LONG_ID)),
    Case("get-unicode", 404, on_id("GET", "ÄÖÜ💡")),
    Case("get-sql-ish", 404, on_id("GET", "1' OR '1'='1")),
    Case("get-percent-encoded", 404, on_id("GET", "%2e%2e%2fx")),
    Case("patch-path-traversal", 404, on_id("PATCH", "../x")),
    Case("patch-3000-chars", 404, on_id("PATCH", LONG_ID)),
    Case("patch-unicode", 404, on_id("PATCH", "ünï")),
    Case("delete-path-traversal", 404, on_id("DELETE", "../x")),
    Case("delete-3000-chars", 404, on_id("DELETE", LONG_ID)),
    Case("delete-unicode", 404, on_id("DELETE", "ünï")),
    # oversized headers: 400
    Case("patch-if-match-5000", 400, patch({"stock": 1}, headers={"If-Match": "x" * 5000})),
    Case("delete-if-match-5000", 400, lambda api, pid: api.delete(pid, headers={"If-Match": '"' + "x" * 5000})),
    Case("get-if-none-match-5000", 400, lambda api, pid: api.get(pid, headers={"If-None-Match": "x" * 5000})),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(api: Api, product: dict[str, Any], table_items, case: Case) -> None:
    before = table_items()
    result = case.send(api, product["product_id"])
    assert result.status < 500, result.body
    body = result.assert_problem(case.status)
    if case.status == 400 and "errors" in body:
        assert all(e["loc"] and e["msg"] for e in body["errors"])
    assert table_items() == before, "a rejected request changed the table"
    assert api.get(product["product_id"]).json == product


def test_rejections_never_echo_the_input(api: Api, product: dict[str, Any]) -> None:
    secret = "hunter2-" + "s" * 30
    for result in (api.create(with_(password=secret)), api.create(with_(name=secret * 10)),
                   api.patch(product["product_id"], {"name": None, "password": secret}),
                   api.create("{" + secret)):
        assert result.status in (400, 422)
        assert secret not in result.body
