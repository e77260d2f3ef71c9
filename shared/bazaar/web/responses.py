"""Response shapes shared by the catalog routes (ETag, conditional GET)."""

from __future__ import annotations

from typing import Any, Optional

from bazaar.domain.catalog import Product
from bazaar.web.params import result


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): ``W/"x"`` matches ``"x"``; ``*`` matches any current representation."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def product_result(status: int, product: Product, extra: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """A product as the write routes answer it: its body, its ETag, revalidated before reuse."""
    return result(status, product.to_dict(), {"ETag": product.etag, "Cache-Control": "no-cache", **(extra or {})})
