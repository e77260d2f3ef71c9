"""GET /products: newest first, optionally one seller's, with signed cursors; read through the cache.

Served without the request resolver (bazaar.web.reads): its parameters are declared once, enforced here and
documented from the same declaration."""

from typing import Any, Optional

from bazaar import wiring
from bazaar.domain.catalog import Listing
from bazaar.services import catalog
from bazaar.web.cursors import MAX_CURSOR_LENGTH, SignedCursors
from bazaar.web.documented import CACHE_STATUS, ok
from bazaar.web.reads import Param, ReadRoute, result


def _returns() -> Any:  # the 200 body, for the document only (pydantic is not imported at run time)
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.catalog import ProductPage

    return Response[ProductPage]


route = ReadRoute(
    "list_products", summary="List products, newest first", tags=["catalog"], returns=_returns,
    params=[Param("limit", "query", int, default=20, ge=1, le=100),
            Param("cursor", "query", min_length=1, max_length=MAX_CURSOR_LENGTH),
            Param("seller_id", "query", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")],
    responses={200: ok("A page of products", headers=CACHE_STATUS)})


@route
def list_products(limit: int = 20, cursor: Optional[str] = None, seller_id: Optional[str] = None) -> dict[str, Any]:
    cursors = SignedCursors(f"products:{seller_id or '*'}", wiring.cursor_key)  # a cursor continues its listing
    page, hit = catalog.list_products(wiring.products(), wiring.cache(), Listing(seller_id, limit, cursor), cursors)
    return result(200, page.to_dict(), {"X-Cache": "HIT" if hit else "MISS", "Cache-Control": "no-cache"})


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
