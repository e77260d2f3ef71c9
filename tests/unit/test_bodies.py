"""The request-body JSON parser: hostile text fails as a parse error (400) or a value no field accepts (422)."""

from __future__ import annotations

import json

import pytest

from bazaar.web.bodies import MAX_DEPTH, OversizedInteger, loads


def nested(levels: int, open_: str = "[", close: str = "]") -> str:
    return open_ * levels + close * levels


@pytest.mark.parametrize("text", [
    "[" * 5000,  # unterminated: RecursionError inside the C scanner
    nested(1200),  # well-formed, deeper than Python's recursion limit
    '{"a":' * 900 + "1" + "}" * 900,
    nested(MAX_DEPTH + 1),
    '{"items": ' + nested(MAX_DEPTH) + "}",
])
def test_deep_nesting_is_a_decode_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError, match="nested deeper"):
        loads(text)


def test_nesting_up_to_the_limit_parses() -> None:
    assert loads(nested(MAX_DEPTH))
    assert loads('{"items": [{"product_id": "p", "quantity": 1}]}') == {"items": [{"product_id": "p", "quantity": 1}]}


def test_wide_is_not_deep() -> None:
    assert len(loads("[" + ",".join(["[1]"] * 5000) + "]")) == 5000


@pytest.mark.parametrize("literal", ["9" * 4301, "-" + "9" * 4301, "1" * 50_000])
def test_overlong_integer_is_a_value_not_an_exception(literal: str) -> None:
    value = loads('{"price_cents": ' + literal + "}")["price_cents"]
    assert isinstance(value, OversizedInteger)
    assert literal not in repr(value)  # error messages never carry the literal back


def test_integers_within_the_limit_stay_ints() -> None:
    assert loads("9" * 4300) == int("9" * 4300)
    assert loads("[-12, 0, 7]") == [-12, 0, 7]


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", "{}".encode("utf-16")])
def test_bytes_that_are_not_utf8(raw: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(raw)


@pytest.mark.parametrize("text", ["", "{", "{'a': 1}", "[1,]", "\x00"])
def test_malformed_json_stays_a_decode_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(text)
