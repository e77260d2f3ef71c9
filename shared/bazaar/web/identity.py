"""The caller as API Gateway's JWT authorizer hands it over.

HTTP APIs pass every claim as a string; ``cognito:groups`` arrives as ``"[seller customer]"``. Tests and other
invokers may pass a real list. Both shapes are accepted.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from bazaar.domain.identity import Actor
from bazaar.web import bodies


def claims_of(event: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The caller's access-token claims, or None.

    API Gateway's JWT authorizer also accepts a Cognito ID token (its ``aud`` is the app client): Bazaar only
    accepts access tokens, so an ID token counts as no identity (401), in AWS as in the local authorizer."""
    ctx = event.get("requestContext") or {}
    jwt = (ctx.get("authorizer") or {}).get("jwt") or {}
    claims = jwt.get("claims")
    if not isinstance(claims, Mapping) or not claims.get("sub") or claims.get("token_use") != "access":
        return None
    return claims


def parse_groups(raw: Any) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if isinstance(raw, (list, tuple)):
        return frozenset(str(g) for g in raw)
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        if inner.startswith('"'):  # a JSON array serialised as a string
            try:
                parsed = bodies.loads(text)  # bounded: a claim is text too (moto's signing key is public)
            except ValueError:
                return frozenset()
            return frozenset(str(g) for g in parsed) if isinstance(parsed, list) else frozenset()
        return frozenset(g.strip(",") for g in inner.split() if g.strip(","))
    return frozenset(g for g in text.replace(",", " ").split() if g)


def actor_of(event: Mapping[str, Any]) -> Optional[Actor]:
    claims = claims_of(event)
    if claims is None:
        return None
    return Actor(sub=str(claims["sub"]), groups=parse_groups(claims.get("cognito:groups")))
