"""GET /products/{product_id}: one product, read through the cache, with ETag and conditional GET."""

from typing import Annotated, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header

from bazaar import wiring
from bazaar.schemas.catalog import ProductOut
from bazaar.services import catalog
from bazaar.web.documented import CACHE_STATUS, ETAG, no_body, ok, problem
from bazaar.web.http import http_handler, make_app
from bazaar.web.responses import etag_matches, product_response

app = make_app()


@app.get("/products/<product_id>", summary="Get a product", tags=["catalog"],
         responses={200: ok("The product", ProductOut, headers={**ETAG, **CACHE_STATUS}),
                    304: no_body("Not modified (If-None-Match matches)", headers={**ETAG, **CACHE_STATUS}),
                    404: problem("No such product")})
def get_product(
    product_id: str,
    if_none_match: Annotated[Optional[str], Header(alias="if-none-match", max_length=1024)] = None,
) -> Response[Optional[ProductOut]]:  # Optional: the 304 has no body and every Response is validated
    product, hit = catalog.get_product(wiring.products(), wiring.cache(), product_id)
    cache_status = {"X-Cache": "HIT" if hit else "MISS"}
    if if_none_match and etag_matches(if_none_match, product.etag):
        return Response(304, headers={"ETag": product.etag, "Cache-Control": "no-cache", **cache_status})
    return product_response(200, product, cache_status)


handler = http_handler("get_product", app)
