"""The HTTP API JWT authorizer, locally.

Checks, in API Gateway's order, for every non-public route: a ``Bearer`` token; a ``kid`` present in the
pool's JWKS (refetched once on an unknown kid: key rotation); RS256 signature; ``iss`` equal to the pool's
issuer; ``exp`` after, ``nbf`` and ``iat`` before now; ``token_use == "access"``; ``client_id`` among the
allowed app clients.
Any failure is a 401 with API Gateway's body ``{"message":"Unauthorized"}``.

Local only: moto signs every token of every pool with ONE RSA key whose private half ships inside the moto
wheel (``kid "dummy"``). Anyone can mint a token this stack accepts; never point a deployed stage at moto.

Claims reach the function the way HTTP APIs pass them: every value a string; arrays as ``"[a b]"``
(``cognito:groups`` -> ``"[seller customer]"``), numbers as their decimal text, booleans ``"true"``/``"false"``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any, Callable, Iterable, Optional

from jose import jwt
from jose.exceptions import JOSEError

JwksFetcher = Callable[[], dict[str, Any]]
REFETCH_MIN_INTERVAL_S = 1.0  # an unknown kid refetches the JWKS, at most this often (forged kids are cheap)


class Unauthorized(Exception):
    """Why a token was refused (for tests and debugging; never sent to the client)."""


def http_opener() -> urllib.request.OpenerDirector:
    """An opener that speaks http(s) only: unlike ``urlopen``, it can never be pointed at ``file:`` or ``ftp:``."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(), urllib.request.UnknownHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def http_jwks_fetcher(url: str) -> JwksFetcher:
    opener = http_opener()

    def fetch() -> dict[str, Any]:  # another scheme raises URLError (an OSError): the token is refused
        with opener.open(url, timeout=5) as resp:
            return json.load(resp)

    return fetch


def stringify_claim(value: Any) -> str:
    """A claim value as an HTTP API passes it to the function."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(stringify_claim(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"))


class JwtAuthorizer:
    def __init__(self, issuer: str, audiences: Iterable[str], fetch_jwks: JwksFetcher,
                 clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self._fetch = fetch_jwks
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _key(self, kid: str) -> Optional[dict[str, Any]]:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= REFETCH_MIN_INTERVAL_S:
                try:
                    keys = self._fetch().get("keys", [])
                except (OSError, ValueError) as exc:
                    raise Unauthorized(f"JWKS unavailable: {exc}") from exc
                self._keys = {k["kid"]: k for k in keys if isinstance(k, dict) and "kid" in k}
                self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    def verify(self, authorization: Optional[str]) -> dict[str, Any]:
        """The token's claims, unmodified. Raises ``Unauthorized``."""
        if not authorization:
            raise Unauthorized("no Authorization header")
        # As API Gateway: the token alone, or the token prefixed with "Bearer ".
        value = authorization.strip()
        scheme, _, rest = value.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else value
        if not token or " " in token:
            raise Unauthorized("not a token")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise Unauthorized(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized(f"algorithm {header.get('alg')!r} not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("no kid")
        key = self._key(kid)
        if key is None:
            raise Unauthorized("unknown kid")
        try:
            # python-jose checks the signature, exp, nbf and iss (and that iat is a number).
            claims = jwt.decode(token, key, algorithms=["RS256"], issuer=self.issuer,
                                options={"verify_aud": False, "leeway": 0})
        except JOSEError as exc:
            raise Unauthorized(str(exc)) from exc
        except (ValueError, TypeError) as exc:  # e.g. a non-numeric exp
            raise Unauthorized(f"bad claims: {exc}") from exc
        now = self._clock()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= now:  # jose skips exp when absent; API Gateway needs it
            raise Unauthorized("expired or no exp")
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, (int, float)) or iat > now):  # "iat must be before now"
            raise Unauthorized("issued in the future")
        if claims.get("token_use") != "access":
            raise Unauthorized("not an access token")
        if claims.get("client_id") not in self.audiences:
            raise Unauthorized("client_id not allowed")
        return claims

    def authorize(self, authorization: Optional[str]) -> dict[str, str]:
        """Claims as the function receives them (all strings)."""
        return {k: stringify_claim(v) for k, v in self.verify(authorization).items()}
