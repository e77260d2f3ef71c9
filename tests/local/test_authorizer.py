"""The local JWT authorizer: the checks API Gateway's HTTP API JWT authorizer makes, with Cognito's token shape.

Tokens are minted with joserfc and the RSA key moto ships in its wheel (recipes §2), the same key moto signs
real tokens with; a forged token uses a freshly generated key.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwk, jwt as jrfc
from moto.utilities.utils import load_resource

from local.authorizer import JwtAuthorizer, Unauthorized, stringify_claim

POOL = "eu-west-1_abc123"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "client-1"
MOTO_KEY = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
PUBLIC_JWKS = load_resource("cognitoidp/resources/jwks-public.json")


def access_claims(**over) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "u-1", "client_id": CLIENT, "token_use": "access", "iat": now, "auth_time": now,
              "exp": now + 3600, "jti": "j", "username": "carol", "scope": "aws.cognito.signin.user.admin",
              "cognito:groups": ["seller", "customer"]}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def mint(claims: dict, key=MOTO_KEY, header: dict | None = None) -> str:
    return jrfc.encode(header or {"kid": "dummy", "alg": "RS256", "typ": "JWT"}, claims, key)


class CountingFetcher:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return PUBLIC_JWKS


@pytest.fixture
def fetcher() -> CountingFetcher:
    return CountingFetcher()


@pytest.fixture
def authorizer(fetcher) -> JwtAuthorizer:
    return JwtAuthorizer(ISSUER, [CLIENT], fetcher)


def test_valid_access_token(authorizer):
    claims = authorizer.authorize("Bearer " + mint(access_claims()))
    assert claims["sub"] == "u-1"
    assert claims["client_id"] == CLIENT
    # as HTTP APIs pass them: strings only, arrays as "[a b]"
    assert claims["cognito:groups"] == "[seller customer]"
    assert isinstance(claims["exp"], str) and claims["exp"].isdigit()
    assert all(isinstance(v, str) for v in claims.values())


def test_scheme_is_case_insensitive(authorizer):
    authorizer.authorize("bearer " + mint(access_claims()))


def test_jwks_is_cached(authorizer, fetcher):
    for _ in range(3):
        authorizer.authorize("Bearer " + mint(access_claims()))
    assert fetcher.calls == 1


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc",
                                    "Bearer not.a.jwt", "Bearer a.b"])
def test_missing_or_malformed_header(authorizer, header):
    with pytest.raises(Unauthorized):
        authorizer.authorize(header)


def test_raw_token_without_bearer_prefix_is_accepted_as_api_gateway_does(authorizer):
    # HTTP API JWT authorizers take "the token, or the token prefixed with Bearer".
    assert authorizer.authorize(mint(access_claims()))["sub"] == "u-1"


@pytest.mark.parametrize("name,claims", [
    ("expired", access_claims(exp=int(time.time()) - 5, iat=int(time.time()) - 3605)),
    ("no exp", access_claims(exp=None)),
    # a day ahead: the claims are minted when the tests are collected, which can be minutes before this one runs
    ("nbf in the future", access_claims(nbf=int(time.time()) + 86400)),
    ("iat in the future", access_claims(iat=int(time.time()) + 86400)),
    ("wrong issuer", access_claims(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other")),
    ("issuer of another region", access_claims(iss=f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}")),
    ("id token", {**access_claims(token_use="id", client_id=None), "aud": CLIENT}),
    ("other client's access token", access_claims(client_id="client-2")),
    ("no token_use", access_claims(token_use=None)),
])
def test_rejected_claims(authorizer, name, claims):
    with pytest.raises(Unauthorized):
        authorizer.authorize("Bearer " + mint(claims))


def test_tampered_payload(authorizer):
    header, payload, sig = mint(access_claims()).split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        authorizer.authorize(f"Bearer {header}.{forged}.{sig}")


def test_tampered_signature(authorizer):
    header, payload, sig = mint(access_claims()).split(".")
    sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    with pytest.raises(Unauthorized):
        authorizer.authorize(f"Bearer {header}.{payload}.{sig}")


def test_signed_by_another_key_with_moto_kid(authorizer):
    other = jwk.RSAKey.generate_key(2048)
    with pytest.raises(Unauthorized):
        authorizer.authorize("Bearer " + mint(access_claims(), key=other))


def test_unknown_kid_refetches_once_then_refuses(authorizer, fetcher):
    authorizer.authorize("Bearer " + mint(access_claims()))
    assert fetcher.calls == 1
    token = mint(access_claims(), header={"kid": "rotated", "alg": "RS256"})
    with pytest.raises(Unauthorized):
        authorizer.authorize("Bearer " + token)
    with pytest.raises(Unauthorized):
        authorizer.authorize("Bearer " + token)
    assert fetcher.calls <= 2  # refetch on an unknown kid, rate-limited


def test_alg_none(authorizer):
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"dummy","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(access_claims()).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        authorizer.authorize(f"Bearer {header}.{payload}.")


def test_hs256_with_public_key_as_secret(authorizer):
    """The classic algorithm-confusion attack: HMAC keyed with the public key."""
    secret = jwk.OctKey.import_key(json.dumps(PUBLIC_JWKS["keys"][0]).encode())
    token = jrfc.encode({"alg": "HS256", "kid": "dummy"}, access_claims(), secret)
    with pytest.raises(Unauthorized):
        authorizer.authorize("Bearer " + token)


def test_jwks_unreachable_is_401_not_500():
    def broken() -> dict:
        raise OSError("connection refused")

    with pytest.raises(Unauthorized):
        JwtAuthorizer(ISSUER, [CLIENT], broken).authorize("Bearer " + mint(access_claims()))


@pytest.mark.parametrize("value,expected", [("s", "s"), (True, "true"), (False, "false"), (12, "12"),
                                            (1.0, "1"), (1.5, "1.5"), (["a", "b"], "[a b]"), ([], "[]"),
                                            ({"k": 1}, '{"k":1}')])
def test_claims_are_stringified_like_http_apis(value, expected):
    assert stringify_claim(value) == expected
