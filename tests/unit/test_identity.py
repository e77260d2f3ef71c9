"""The caller from API Gateway's JWT authorizer context (bazaar.web.identity)."""

from __future__ import annotations

import pytest

from bazaar.domain.identity import Actor
from bazaar.web.identity import actor_of, claims_of, parse_groups


@pytest.mark.parametrize("raw, expected", [
    ("[seller admin]", {"seller", "admin"}),             # how HTTP APIs pass cognito:groups
    ("[seller]", {"seller"}),
    ("  [ seller   admin ] ", {"seller", "admin"}),
    ("[seller, admin]", {"seller", "admin"}),
    (["seller", "admin"], {"seller", "admin"}),           # a real list (tests, other invokers)
    (("admin",), {"admin"}),
    ('["seller","customer"]', {"seller", "customer"}),    # a JSON array serialised as a string
    ('[ "seller" , "admin" ]', {"seller", "admin"}),
    ("seller", {"seller"}),
    ("seller,admin", {"seller", "admin"}),
    ("[]", set()),
    ("", set()),
    ("   ", set()),
    ([], set()),
    (None, set()),
])
def test_parse_groups(raw, expected) -> None:
    groups = parse_groups(raw)
    assert isinstance(groups, frozenset)
    assert groups == expected


@pytest.mark.parametrize("raw", ['["admin" "seller"]', '["admin"', '["admin', "[admin", '{"admin": 1}', "[[admin]]",
                                 '"admin"', "'admin'", "admin]"])
def test_malformed_values_never_grant_a_real_group(raw) -> None:
    assert not parse_groups(raw) & {"customer", "seller", "admin"}


def _event(claims):
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": None}}}}


def test_actor_from_api_gateway_claims() -> None:
    actor = actor_of(_event({"sub": "u-1", "cognito:groups": "[seller admin]", "token_use": "access"}))
    assert actor == Actor("u-1", frozenset({"seller", "admin"}))
    assert actor.is_admin and actor.in_any(("seller",)) and not actor.in_any(("customer",))


def test_actor_without_groups_has_none() -> None:
    actor = actor_of(_event({"sub": "u-1", "token_use": "access"}))
    assert actor is not None and actor.groups == frozenset()
    assert not actor.in_any(("seller", "admin"))


@pytest.mark.parametrize("event", [
    {}, {"requestContext": None}, {"requestContext": {}}, {"requestContext": {"authorizer": None}},
    {"requestContext": {"authorizer": {"jwt": None}}}, _event(None), _event("sub=u-1"), _event({}),
    _event({"sub": "", "token_use": "access"}), _event({"sub": None, "token_use": "access"}),
    _event({"cognito:groups": "[admin]", "token_use": "access"}),
], ids=["empty", "ctx-none", "ctx-empty", "authorizer-none", "jwt-none", "claims-none", "claims-str", "claims-empty",
        "sub-empty", "sub-none", "groups-without-sub"])
def test_no_identity(event) -> None:
    assert claims_of(event) is None
    assert actor_of(event) is None


@pytest.mark.parametrize("token_use", ["id", "", None, "refresh"])
def test_only_access_tokens_identify_a_caller(token_use) -> None:
    # API Gateway's JWT authorizer lets a Cognito ID token through (aud = the app client): Bazaar must not.
    claims = {"sub": "u-1", "cognito:groups": "[admin]", "aud": "client"}
    if token_use is not None:
        claims["token_use"] = token_use
    assert actor_of(_event(claims)) is None
