"""Every route with a caller, a body or a state change is served without the request resolver (bazaar.web.endpoint).
What each enforces and what the OpenAPI document says come from one declaration; here, the resolver built from that
declaration (with Powertools' validation) behind the same entry point (``bazaar.web.http.http_handler``) and the
lean handler must answer every request alike: status, headers, body (byte for byte, ids and times aside), the
audit record and the log lines. A case that changes state builds fresh state for each of the two answers."""

from __future__ import annotations

import base64
import importlib
import json
import re
import time
import uuid
from typing import Any, Callable, Iterator, Optional

import pytest

from bazaar.domain.payments import signature_header
from bazaar.web.http import http_handler
from tests.integration.conftest import LogCapture, invoke_handler
from tests.integration.orders_api import ADMIN, CUSTOMER, CUSTOMER_2, SELLER, OrdersApi, orders_environment
from tests.support.events import FakeContext, claims, http_event

SELLER_2 = claims("seller-2", "seller")
ID_TOKEN = {**claims("seller-1", "seller"), "token_use": "id"}
NEW = {"name": "Brass lamp", "description": "Works", "price_cents": 4999, "currency": "EUR", "stock": 3}
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|evt_[0-9a-f]{32}")  # request/event ids
_AUDITED = ("message", "actor", "roles", "action", "resource", "outcome", "status", "request_id")

Case = Callable[[OrdersApi], dict]  # builds a request (and the state it needs); called once per answer


@pytest.fixture(scope="module")
def shop(moto_url: str, valkey_server) -> Iterator[OrdersApi]:
    with orders_environment(moto_url, f"redis://{valkey_server.host}:{valkey_server.port}/0") as values:
        yield OrdersApi(invoke_handler, values["webhook_secret"])


def _normal(text: str) -> str:
    return _UUID.sub("<uuid>", _TIME.sub("<time>", _ULID.sub("<id>", text)))


def _answer(raw: dict[str, Any]) -> dict[str, Any]:
    """What API Gateway makes of a result: an empty cookie list and a null body are no cookies and no body."""
    return {"status": raw["statusCode"], "base64": raw.get("isBase64Encoded", False),
            "headers": {k: _normal(v) for k, v in (raw.get("headers") or {}).items()},
            "body": _normal(raw["body"]) if raw.get("body") is not None else None,
            "cookies": raw.get("cookies") or []}


def answers(shop: OrdersApi, logs: LogCapture, name: str, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    """(lean, documented): each answer with the log lines it wrote and its audit record."""
    module = importlib.import_module(f"functions.{name}.handler")
    documented = http_handler(name, module.app, getattr(module, "authenticate", None))
    out = []
    for entry in (module.handler, documented):
        event = case(shop)
        logs.clear()
        raw = entry(event, FakeContext(name))
        records = logs.records()
        out.append({**_answer(raw), "logs": [(r.get("level"), _normal(str(r.get("message")))) for r in records],
                    "audit": [{k: _normal(json.dumps(r.get(k))) for k in _AUDITED} for r in records if r.get("audit")]})
    return out[0], out[1]


def check(shop: OrdersApi, logs: LogCapture, name: str, cases: dict[str, Case]) -> set[int]:
    """Every case answered alike; returns the statuses seen (so a test also shows it reached what it meant to)."""
    seen = set()
    for label, case in cases.items():
        lean, documented = answers(shop, logs, name, case)
        assert lean == documented, label
        if int(lean["status"]) < 500:  # a 5xx from bad input is a bug
            seen.add(int(lean["status"]))
        else:
            pytest.fail(f"{name} {label}: {lean['status']} {lean['body']}")
        if name not in ("list_orders", "get_order"):
            assert len(lean["audit"]) == 1, label
    return seen


# --- request shapes -----------------------------------------------------------------------------------------------

def with_body(event: dict[str, Any], body: Optional[str], content_type: Optional[str] = "application/json",
              base64_encoded: bool = False) -> dict[str, Any]:
    """``event`` with this raw body text (None: no body) and content type (None: no such header)."""
    event["headers"].pop("content-type", None)
    if content_type is not None:
        event["headers"]["content-type"] = content_type
    if base64_encoded and body is not None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = body, False
    return event


def body_cases(build: Callable[[OrdersApi, Optional[str]], dict], good: str) -> dict[str, Case]:
    """What every route with a body must answer alike: media types, encodings, hostile and malformed JSON."""
    deep_list = "[" * 100 + "]" * 100
    deep_object = '{"a":' * 100 + "1" + "}" * 100
    return {
        "good": lambda s: build(s, good),
        "good, base64": lambda s: with_body(build(s, good), good, base64_encoded=True),
        "good, no content type": lambda s: with_body(build(s, good), good, None),
        "good, charset": lambda s: with_body(build(s, good), good, "application/json; charset=utf-8"),
        "good, +json": lambda s: with_body(build(s, good), good, "application/merge-patch+json"),
        "good, upper-case type": lambda s: with_body(build(s, good), good, "Application/JSON"),
        "text/plain": lambda s: with_body(build(s, good), good, "text/plain"),
        "form": lambda s: with_body(build(s, good), "a=1", "application/x-www-form-urlencoded"),
        "no body": lambda s: with_body(build(s, good), None),
        "empty body": lambda s: with_body(build(s, good), ""),
        "no body, text/plain": lambda s: with_body(build(s, good), None, "text/plain"),
        "no body, form": lambda s: with_body(build(s, good), None, "application/x-www-form-urlencoded"),
        "no body, multipart": lambda s: with_body(build(s, good), None, "multipart/form-data; boundary=x"),
        "whitespace": lambda s: build(s, "  "),
        "null": lambda s: build(s, "null"),
        "number": lambda s: build(s, "12"),
        "string": lambda s: build(s, '"x"'),
        "true": lambda s: build(s, "true"),
        "empty object": lambda s: build(s, "{}"),
        "empty array": lambda s: build(s, "[]"),
        "array of the good body": lambda s: build(s, f"[{good}, 1]"),
        "truncated": lambda s: build(s, good[:-1]),
        "trailing junk": lambda s: build(s, good + "x"),
        "deep list": lambda s: build(s, deep_list),
        "deep object": lambda s: build(s, deep_object),
        "huge integer": lambda s: build(s, good[:-1] + ', "x": ' + "9" * 5000 + "}"),
        "not UTF-8": lambda s: with_body(build(s, good), base64.b64encode(b'{"a": "\xff"}').decode(), None)
        | {"isBase64Encoded": True},
        "lone surrogate": lambda s: build(s, '{"name": "\\ud800"}'),
        "over 64 KiB": lambda s: build(s, json.dumps({"name": "x" * 70_000})),
    }


# --- catalog ------------------------------------------------------------------------------------------------------

def _create(s: OrdersApi, body: Optional[str], who: Optional[dict] = SELLER) -> dict:
    return with_body(http_event("POST", "/products", claims=who), body)


def test_create_product_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    good = json.dumps(NEW)
    cases = body_cases(_create, good)
    for label, fields in {"12.0 is 12": {"price_cents": 12.0}, "12.5": {"price_cents": 12.5},
                          "string price": {"price_cents": "12"}, "bool stock": {"stock": True},
                          "null name": {"name": None}, "empty name": {"name": ""}, "long name": {"name": "x" * 201},
                          "unknown field": {"colour": "red"}, "bad currency": {"currency": "XXX"},
                          "huge price": {"price_cents": 10 ** 40}, "negative stock": {"stock": -1}}.items():
        cases[label] = lambda s, f=fields: _create(s, json.dumps({**NEW, **f}))
    cases["missing fields"] = lambda s: _create(s, '{"name": "x"}')
    cases["no token"] = lambda s: _create(s, good, None)
    cases["id token"] = lambda s: _create(s, good, ID_TOKEN)
    cases["customer"] = lambda s: _create(s, good, CUSTOMER)
    cases["customer, bad body"] = lambda s: _create(s, "{", CUSTOMER)
    cases["other route's event"] = lambda s: http_event("POST", "/products/x", claims=SELLER, body=NEW)
    assert {201, 400, 401, 403, 413, 415, 422} <= check(shop, logs, "create_product", cases)


def _patch(body: Optional[str], who: Optional[dict] = SELLER, owner: dict = SELLER, pid: Optional[str] = None,
           if_match: Optional[Callable[[dict], str]] = None) -> Case:
    def build(s: OrdersApi) -> dict:
        product = s.new_product(who=owner)
        headers = {"If-Match": if_match(product)} if if_match else None
        target = pid if pid is not None else product["product_id"]
        return with_body(s.item_event("PATCH", target, claims=who, headers=headers), body)
    return build


def test_update_product_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    good = '{"price_cents": 1000, "stock": 9}'
    cases = body_cases(lambda s, body: _patch(body)(s), good)
    cases.update({
        "if-match": _patch(good, if_match=lambda p: f'"{p["product_id"]}.{p["version"]}.{p["stock"]}"'),
        "if-match without stock": _patch(good, if_match=lambda p: f'"{p["product_id"]}.{p["version"]}"'),
        "stale if-match": _patch(good, if_match=lambda p: f'"{p["product_id"]}.99"'),
        "empty if-match": _patch(good, if_match=lambda p: ""),
        "long if-match": _patch(good, if_match=lambda p: "x" * 1025),
        "long if-match, bad body": _patch('{"stock": -1}', if_match=lambda p: "x" * 1025),
        "long if-match, bad JSON": _patch("{", if_match=lambda p: "x" * 1025),
        "nothing to change": _patch("{}"),
        "null field": _patch('{"name": null}'),
        "unknown field": _patch('{"colour": "red"}'),
        "12.0 stock": _patch('{"stock": 12.0}'),
        "not the owner": _patch(good, who=SELLER_2),
        "admin": _patch(good, who=ADMIN),
        "customer": _patch(good, who=CUSTOMER),
        "no token": _patch(good, who=None),
        "unknown product": _patch(good, pid="01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        "malformed id": _patch(good, pid="not-an-id!"),
        "percent-encoded id": _patch(good, pid="01ARZ3NDEKTSV4RRFFQ69G5FA%56"),
    })
    assert {200, 400, 401, 403, 404, 412, 413, 415, 422} <= check(shop, logs, "update_product", cases)


def _delete(who: Optional[dict] = SELLER, pid: Optional[str] = None, if_match: Optional[Callable[[dict], str]] = None,
            body: Optional[str] = None, content_type: str = "application/json") -> Case:
    def build(s: OrdersApi) -> dict:
        product = s.new_product()
        headers = {"If-Match": if_match(product)} if if_match else None
        event = s.item_event("DELETE", pid if pid is not None else product["product_id"], claims=who,
                             headers=headers)
        return with_body(event, body, content_type)
    return build


def test_delete_product_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    cases = {
        "good": _delete(), "admin": _delete(ADMIN), "not the owner": _delete(SELLER_2), "customer": _delete(CUSTOMER),
        "no token": _delete(None), "id token": _delete(ID_TOKEN),
        "unknown": _delete(pid="01ARZ3NDEKTSV4RRFFQ69G5FAV"), "malformed id": _delete(pid="x!"),
        "if-match": _delete(if_match=lambda p: f'"{p["product_id"]}.1.{p["stock"]}"'),
        "stale if-match": _delete(if_match=lambda p: f'"{p["product_id"]}.2"'),
        "long if-match": _delete(if_match=lambda p: "x" * 1025),
        "a body is not read": _delete(body="[1, 2", content_type="text/plain"),
        "over 64 KiB": _delete(body="x" * 70_000),
    }
    assert {204, 400, 401, 403, 404, 412, 413} <= check(shop, logs, "delete_product", cases)


# --- orders -------------------------------------------------------------------------------------------------------

def _order(items: Callable[[OrdersApi], list[dict]], *, who: Optional[dict] = CUSTOMER, method: str = "pm_card_ok",
           key: Optional[Callable[[OrdersApi], Optional[str]]] = None, raw: Optional[str] = None) -> Case:
    def build(s: OrdersApi) -> dict:
        chosen = key(s) if key else uuid.uuid4().hex
        headers = {"Idempotency-Key": chosen} if chosen is not None else {}
        body = raw if raw is not None else json.dumps({"items": items(s), "payment_method": method})
        return with_body(http_event("POST", "/orders", claims=who, headers=headers), body)
    return build


def _line(quantity: Any = 1, stock: int = 1000) -> Callable[[OrdersApi], list[dict]]:
    return lambda s: [{"product_id": s.new_product(stock=stock)["product_id"], "quantity": quantity}]


_PRODUCT: list[str] = []  # one well-stocked product for the cases that only need some order
_REPLAY: dict[str, str] = {}  # key -> the product its first order was for


def _stocked(s: OrdersApi) -> str:
    if not _PRODUCT:
        _PRODUCT.append(s.new_product(stock=100_000)["product_id"])
    return _PRODUCT[0]


def _used_key(other_body: bool) -> Callable[[OrdersApi], str]:
    """A key this customer already ordered with (then sent with the same body, or another one)."""
    def choose(s: OrdersApi) -> str:
        key = uuid.uuid4().hex
        assert s.place([{"product_id": _stocked(s), "quantity": 1}], key=key).status == 201
        if not other_body:
            _REPLAY[key] = _stocked(s)
        return key
    return choose


def test_create_order_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    good = json.dumps({"items": [{"product_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": 1}],
                       "payment_method": "pm_card_ok"})

    def build(s: OrdersApi, body: Optional[str]) -> dict:
        if body == good:  # a product that exists, so the good body is placed
            body = json.dumps({"items": _line()(s), "payment_method": "pm_card_ok"})
        return with_body(http_event("POST", "/orders", claims=CUSTOMER, headers={"Idempotency-Key": uuid.uuid4().hex}),
                         body)

    def replay(s: OrdersApi) -> dict:
        key = _used_key(other_body=False)(s)
        return with_body(http_event("POST", "/orders", claims=CUSTOMER, headers={"Idempotency-Key": key}),
                         json.dumps({"items": [{"product_id": _REPLAY[key], "quantity": 1}],
                                     "payment_method": "pm_card_ok"}))

    cases = body_cases(build, good)
    cases.update({
        "replayed": replay,
        "key used with another body": _order(_line(), key=_used_key(other_body=True)),
        "no key": _order(_line(), key=lambda s: None),
        "no key, bad body": _order(_line(), key=lambda s: None, raw='{"items": []}'),
        "no key, bad JSON": _order(_line(), key=lambda s: None, raw="{"),
        "empty key": _order(_line(), key=lambda s: ""),
        "long key": _order(_line(), key=lambda s: "k" * 256),
        "key with a space": _order(_line(), key=lambda s: "a b"),
        "key with a newline": _order(_line(), key=lambda s: "abc\n"),
        "unknown product": _order(lambda s: [{"product_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "quantity": 1}]),
        "malformed product id": _order(lambda s: [{"product_id": "x", "quantity": 1}]),
        "not enough stock": _order(_line(quantity=5, stock=2)),
        "zero quantity": _order(_line(quantity=0)),
        "2.0 quantity": _order(_line(quantity=2.0)),
        "same product twice": _order(lambda s: _line()(s) * 2),
        "no lines": _order(lambda s: []),
        "unknown payment method": _order(_line(), method="cash"),
        "seller": _order(_line(), who=SELLER),
        "no token": _order(_line(), who=None),
    })
    assert {201, 400, 401, 403, 409, 413, 415, 422} <= check(shop, logs, "create_order", cases)


def _order_event(name: str, method: str, suffix: str, who: Optional[dict], order_id: Callable[[OrdersApi], str],
                 body: Optional[str] = None, content_type: str = "application/json") -> Case:
    def build(s: OrdersApi) -> dict:
        oid = order_id(s)
        event = http_event(method, f"/orders/{oid}{suffix}", route_key=f"{method} /orders/{{order_id}}{suffix}",
                           path_parameters={"order_id": oid}, claims=who)
        return with_body(event, body, content_type)
    return build


def _placed(s: OrdersApi, who: dict = CUSTOMER, method: str = "pm_card_ok") -> str:
    return s.order_now(_stocked(s), method=method, who=who)["order_id"]


def _cancelled(s: OrdersApi) -> str:
    oid = _placed(s)
    assert s.cancel(oid).status == 200
    return oid


UNKNOWN_ORDER = lambda s: "01ARZ3NDEKTSV4RRFFQ69G5FAV"  # noqa: E731


def test_get_order_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    get = lambda who, oid: _order_event("get_order", "GET", "", who, oid)  # noqa: E731
    cases = {"own": get(CUSTOMER, _placed), "admin": get(ADMIN, _placed), "cancelled": get(CUSTOMER, _cancelled),
             "another customer's": get(CUSTOMER_2, _placed), "seller": get(SELLER, _placed),
             "no token": get(None, _placed), "unknown": get(CUSTOMER, UNKNOWN_ORDER),
             "malformed": get(CUSTOMER, lambda s: "x!"), "percent-encoded": get(CUSTOMER, lambda s: "a%2Fb")}
    assert {200, 401, 403, 404} <= check(shop, logs, "get_order", cases)


def test_cancel_order_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    cancel = lambda who, oid, **kw: _order_event("cancel_order", "POST", "/cancel", who, oid, **kw)  # noqa: E731
    cases = {"own": cancel(CUSTOMER, _placed), "admin": cancel(ADMIN, _placed),
             "already cancelled": cancel(CUSTOMER, _cancelled), "another customer's": cancel(CUSTOMER_2, _placed),
             "seller": cancel(SELLER, _placed), "no token": cancel(None, _placed),
             "unknown": cancel(CUSTOMER, UNKNOWN_ORDER), "malformed": cancel(CUSTOMER, lambda s: "x!"),
             "a JSON body is not read": cancel(CUSTOMER, _placed, body='{"reason": "x"}'),
             "text body": cancel(CUSTOMER, _placed, body="please", content_type="text/plain"),
             "array body": cancel(CUSTOMER, _placed, body="[1]"),
             "bad JSON body": cancel(CUSTOMER, _placed, body="{"),
             "over 64 KiB": cancel(CUSTOMER, _placed, body="x" * 70_000)}
    assert {200, 401, 403, 404, 409, 413, 415, 422} <= check(shop, logs, "cancel_order", cases)


def test_list_orders_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    lister = claims("customer-write-routes", "customer")
    for _ in range(3):
        _placed(shop, who=lister)
    first = shop.list_orders("limit=2", who=lister).json["next_cursor"]
    queries = ["", "limit=1", "limit=100", "limit=0", "limit=101", "limit=abc", "limit=1&limit=2", "limit=1.0",
               "limit=" + "9" * 5000, "cursor=", "cursor=garbage", "cursor=" + "A" * 5000, "cursor=a,b",
               f"limit=2&cursor={first}", "unknown=1"]
    cases: dict[str, Case] = {q: (lambda s, q=q: http_event("GET", "/orders", query=q, claims=lister))
                              for q in queries}
    cases["another customer's cursor"] = lambda s: http_event("GET", "/orders", query=f"cursor={first}",
                                                              claims=CUSTOMER_2)
    cases["no token"] = lambda s: http_event("GET", "/orders", claims=None)
    cases["seller"] = lambda s: http_event("GET", "/orders", claims=SELLER)
    assert {200, 400, 401, 403} <= check(shop, logs, "list_orders", cases)


# --- payments -----------------------------------------------------------------------------------------------------

def _webhook(body: Callable[[OrdersApi], str], *, secret: Optional[str] = None, header: Optional[str] = None,
             content_type: str = "application/json") -> Case:
    def build(s: OrdersApi) -> dict:
        raw = body(s)
        signed = header if header is not None else signature_header((secret or s.webhook_secret).encode(),
                                                                    int(time.time()), raw.encode())
        event = http_event("POST", "/payments/webhook", headers={"bazaar-signature": signed} if signed else {})
        return with_body(event, raw, content_type)
    return build


def _payment(kind: str = "payment.succeeded", event_id: Optional[str] = None,
             order: Callable[[OrdersApi], str] = lambda s: _placed(s, method="pm_async"), **extra: Any,
             ) -> Callable[[OrdersApi], str]:
    return lambda s: json.dumps({"event_id": event_id or f"evt_{uuid.uuid4().hex}", "type": kind,
                                 "order_id": order(s), **extra})


def _applied(other_payload: bool) -> Callable[[OrdersApi], str]:
    """An event already applied; sent again as it was, or with the same id for another order."""
    def body(s: OrdersApi) -> str:
        raw = _payment()(s)
        assert s.webhook(json.loads(raw)).status == 200
        return raw if not other_payload else json.dumps({**json.loads(raw), "order_id": _placed(s, method="pm_async")})
    return body


def test_payment_webhook_answers_as_the_documented_route(shop: OrdersApi, logs: LogCapture) -> None:
    cases = {
        "succeeded": _webhook(_payment()), "failed": _webhook(_payment("payment.failed")),
        "unknown type (no status)": _webhook(_payment("payment.pending")),
        "succeeded after a cancel": _webhook(_payment(order=_cancelled)),
        "replayed": _webhook(_applied(other_payload=False)),
        "event id reused": _webhook(_applied(other_payload=True)),
        "unknown order": _webhook(_payment(order=UNKNOWN_ORDER)),
        "unknown order, unknown type": _webhook(_payment("payment.pending", order=UNKNOWN_ORDER)),
        "extra fields": _webhook(_payment(amount=12)),
        "missing order": _webhook(lambda s: json.dumps({"event_id": "evt_x", "type": "payment.succeeded"})),
        "event id with a space": _webhook(_payment(event_id="evt x")),
        "bad JSON": _webhook(lambda s: "{"), "array": _webhook(lambda s: "[]"), "null": _webhook(lambda s: "null"),
        "deep": _webhook(lambda s: "[" * 100 + "]" * 100),
        "text/plain": _webhook(_payment(), content_type="text/plain"),
        "+json": _webhook(_payment(), content_type="application/cloudevents+json"),
        "wrong secret": _webhook(_payment(), secret="whsec_other"),
        "no signature": _webhook(_payment(), header=""),
        "malformed signature": _webhook(_payment(), header="t=1,v1=zz"),
    }
    assert {200, 400, 401, 404, 415, 422} <= check(shop, logs, "payment_webhook", cases)


def test_bodies_have_the_documented_shape(shop: OrdersApi) -> None:
    """The resolver validated every answer against its model; the lean routes' answers are checked here."""
    from bazaar.schemas.catalog import ProductOut
    from bazaar.schemas.orders import OrderOut, OrderPageOut, WebhookReceipt

    product = shop.new_product()
    ProductOut.model_validate(product)
    ProductOut.model_validate(shop.patch(product["product_id"], {"stock": 1}).json)
    lister = claims("customer-shapes", "customer")
    oid = _placed(shop, who=lister)
    OrderOut.model_validate(shop.get_order(oid, who=lister).json)
    OrderPageOut.model_validate(shop.list_orders(who=lister).json)
    cancelled = shop.cancel(oid, who=lister).json
    assert OrderOut.model_validate(cancelled).cancel_reason == "cancelled_by_customer"
    receipt = shop.webhook({"event_id": f"evt_{uuid.uuid4().hex}", "type": "payment.pending", "order_id": oid})
    assert WebhookReceipt.model_validate(receipt.json).status is None and "status" in receipt.json


def test_a_failure_of_ours_is_still_problem_json_and_audited(shop: OrdersApi, logs: LogCapture,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from bazaar.services import catalog

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "create_product", broken)
    logs.clear()
    shop.create(NEW).assert_problem(500)
    [record] = logs.audit()
    assert (record["action"], record["outcome"], record["status"]) == ("create_product", "error", 500)


def test_a_multipart_type_without_boundary_is_a_415_not_a_500(shop: OrdersApi) -> None:
    """The one answer that differs: the resolver failed on an empty multipart body without a boundary (500, a bug
    for bad input); the lean route answers it as any other media type it cannot read."""
    event = with_body(http_event("POST", "/products", claims=SELLER), None, "multipart/form-data")
    shop.call("create_product", event).assert_problem(415)


def test_a_container_creates_one_dynamodb_client(shop: OrdersApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every item type, every transaction and create_order's idempotency store send through one botocore client
    (bazaar.adapters.dynamo.models): a client (and its session) costs about a fifth of a cold start, and a write
    reads before it commits."""
    import botocore.session

    from bazaar import wiring
    from bazaar.adapters.dynamo import models

    created: list[str] = []
    original = botocore.session.Session.create_client

    def counting(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        created.append(service_name)
        return original(self, service_name, *args, **kwargs)

    product = shop.new_product(stock=10)
    wiring.reset()  # as in a fresh container: the item types get new connections on first use
    assert models._bound == []
    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    order = shop.order_now(product["product_id"])  # idempotency record first, products read, order written
    assert shop.patch(product["product_id"], {"stock": 9}).status == 200  # a read, then a transaction
    assert shop.cancel(order["order_id"]).status == 200
    assert shop.delete(product["product_id"]).status == 204
    assert created.count("dynamodb") == 1, created  # create_order's idempotency store included
