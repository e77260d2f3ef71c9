"""GET /products/{product_id}: one product, read through the cache, with ETag and conditional GET.

Served without the request resolver (bazaar.web.reads): its parameters are declared once, enforced here and
documented from the same declaration."""

from typing import Any, Optional

from bazaar import wiring
from bazaar.services import catalog
from bazaar.web.documented import CACHE_STATUS, ETAG, no_body, ok, problem
from bazaar.web.reads import Param, ReadRoute, result
from bazaar.web.responses import etag_matches


def _returns() -> Any:  # the 200 body, for the document only (pydantic is not imported at run time)
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.catalog import ProductOut

    return Response[Optional[ProductOut]]  # Optional: the 304 has no body


def _responses() -> dict[int, Any]:  # the 200 names its model (never null), for the document only
    from bazaar.schemas.catalog import ProductOut

    return {200: ok("The product", ProductOut, headers={**ETAG, **CACHE_STATUS}),
            304: no_body("Not modified (If-None-Match matches)", headers={**ETAG, **CACHE_STATUS}),
            404: problem("No such product")}


route = ReadRoute(
    "get_product", summary="Get a product", tags=["catalog"], returns=_returns,
    params=[Param("product_id", "path"), Param("if-none-match", "header", max_length=1024)],
    responses=_responses)


@route
def get_product(product_id: str, if_none_match: Optional[str] = None) -> dict[str, Any]:
    product, hit = catalog.get_product(wiring.products(), wiring.cache(), product_id)
    headers = {"ETag": product.etag, "Cache-Control": "no-cache", "X-Cache": "HIT" if hit else "MISS"}
    if if_none_match and etag_matches(if_none_match, product.etag):
        return result(304, headers=headers)
    return result(200, product.to_dict(), headers)


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
