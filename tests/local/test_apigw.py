"""Payload format 2.0: event building and response mapping (structured and inferred)."""

from __future__ import annotations

import base64
import json

import pytest

from local.apigw import BadLambdaResponse, HttpRequest, build_event, is_text_content_type, map_result


def request(**kw) -> HttpRequest:
    base = dict(method="GET", raw_path="/products/p1", raw_query="", headers=[("Host", "127.0.0.1:3000")], body=b"",
                port=3000, time_epoch_ms=1_700_000_000_123, request_id="rid")
    base.update(kw)
    return HttpRequest(**base)


def test_top_level_shape():
    event = build_event(request(), "GET /products/{product_id}", {"product_id": "p1"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /products/{product_id}"
    assert event["rawPath"] == "/products/p1"
    assert event["rawQueryString"] == ""
    assert event["pathParameters"] == {"product_id": "p1"}
    assert event["isBase64Encoded"] is False
    # optional parts are absent, not null, when empty (as AWS sends them)
    for absent in ("cookies", "queryStringParameters", "body"):
        assert absent not in event
    ctx = event["requestContext"]
    assert ctx["accountId"] == "123456789012"
    assert ctx["stage"] == "$default"
    assert ctx["routeKey"] == "GET /products/{product_id}"
    assert ctx["requestId"] == "rid"
    assert ctx["timeEpoch"] == 1_700_000_000_123
    assert ctx["time"] == "14/Nov/2023:22:13:20 +0000"
    assert ctx["http"] == {"method": "GET", "path": "/products/p1", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                           "userAgent": ""}
    assert {"apiId", "domainName", "domainPrefix"} <= set(ctx)
    assert "authorizer" not in ctx


def test_headers_are_lowercased_and_repeats_comma_joined():
    event = build_event(request(headers=[("X-Thing", "a"), ("x-thing", "b"), ("User-Agent", "ua/1"),
                                         ("Accept", "text/html")]), "GET /x", {})
    h = event["headers"]
    assert h["x-thing"] == "a,b"
    assert h["accept"] == "text/html"
    assert h["user-agent"] == "ua/1"
    assert event["requestContext"]["http"]["userAgent"] == "ua/1"
    assert all(k == k.lower() for k in h)
    assert {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"} <= set(h)


def test_query_parameters_decoded_and_repeats_comma_joined():
    event = build_event(request(raw_query="a=1&a=2&b=x%20y&c=&d=%2C"), "GET /x", {})
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y&c=&d=%2C"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y", "c": "", "d": ","}


def test_cookies_move_out_of_the_headers():
    event = build_event(request(headers=[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]), "GET /x", {})
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


def test_json_body_is_text():
    event = build_event(request(method="POST", headers=[("Content-Type", "application/json; charset=utf-8")],
                                body=b'{"a": "\xc3\xa9"}'), "POST /x", {})
    assert event["body"] == '{"a": "é"}'
    assert event["isBase64Encoded"] is False
    assert event["headers"]["content-length"] == str(len(b'{"a": "\xc3\xa9"}'))


@pytest.mark.parametrize("ctype", [None, "application/octet-stream", "image/png",
                                   "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_non_text_bodies_are_base64(ctype):
    headers = [("Content-Type", ctype)] if ctype else []
    raw = b"\x00\x01binary\xff"
    event = build_event(request(method="POST", headers=headers, body=raw), "POST /x", {})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize("ctype,text", [("text/plain", True), ("application/json", True),
                                        ("application/problem+json", True), ("application/xml", True),
                                        ("application/vnd.api+json", True), ("image/svg+xml", True),
                                        ("application/pdf", False), ("", False)])
def test_text_content_types(ctype, text):
    assert is_text_content_type(ctype) is text


def test_claims_and_scopes_land_in_the_authorizer_context():
    event = build_event(request(), "GET /x", {}, claims={"sub": "u1", "cognito:groups": "[seller]"})
    assert event["requestContext"]["authorizer"] == {"jwt": {"claims": {"sub": "u1", "cognito:groups": "[seller]"},
                                                             "scopes": None}}


def test_event_is_json_serialisable():
    json.dumps(build_event(request(raw_query="q=1", headers=[("Cookie", "a=1")]), "GET /x", {"id": "1"},
                           claims={"sub": "s"}))


# --- responses ------------------------------------------------------------------------------------------------

def header(resp, name):
    return [v for k, v in resp.headers if k.lower() == name]


def test_structured_response():
    resp = map_result({"statusCode": 201, "headers": {"Location": "/p/1", "Content-Type": "application/json"},
                       "body": '{"ok":true}', "cookies": ["a=1; HttpOnly", "b=2"]}, "rid")
    assert resp.status == 201
    assert resp.body == b'{"ok":true}'
    assert header(resp, "location") == ["/p/1"]
    assert header(resp, "set-cookie") == ["a=1; HttpOnly", "b=2"]
    assert header(resp, "apigw-requestid") == ["rid"]


def test_structured_base64_body_is_decoded():
    resp = map_result({"statusCode": 200, "headers": {"content-type": "image/png"},
                       "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True})
    assert resp.body == b"\x89PNG"
    assert header(resp, "content-type") == ["image/png"]


def test_structured_without_body():
    resp = map_result({"statusCode": 204})
    assert resp.status == 204 and resp.body == b""


@pytest.mark.parametrize("value", [{"status": "ok"}, [1, 2], "hello", 42, True, None])
def test_inferred_format(value):
    resp = map_result(value)
    assert resp.status == 200
    assert header(resp, "content-type") == ["application/json"]
    assert json.loads(resp.body) == value


@pytest.mark.parametrize("bad", [{"statusCode": "abc"}, {"statusCode": 99}, {"statusCode": 200, "headers": []},
                                 {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
                                 {"statusCode": 200, "cookies": "a=1"}])
def test_invalid_structured_response(bad):
    with pytest.raises(BadLambdaResponse):
        map_result(bad)
