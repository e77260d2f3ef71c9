"""Response shapes shared by the catalog routes (ETag, conditional GET, cache status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from bazaar.domain.catalog import Product

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response


def json_response(status: int, body: Any, headers: Optional[dict[str, str]] = None) -> "Response":
    # Imported here: the read routes use etag_matches without the resolver (bazaar.web.reads).
    from aws_lambda_powertools.event_handler import Response

    # A dict body (not a JSON string) so Powertools validates it against the route's Response[Model] annotation.
    return Response(status, "application/json", body, headers=headers)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): ``W/"x"`` matches ``"x"``; ``*`` matches any current representation."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def product_response(status: int, product: Product, extra: Optional[dict[str, str]] = None) -> "Response":
    headers = {"ETag": product.etag, "Cache-Control": "no-cache", **(extra or {})}
    return json_response(status, product.to_dict(), headers)
