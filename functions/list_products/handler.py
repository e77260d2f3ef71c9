"""GET /products: newest first, optionally one seller's, with signed cursors; read through the cache."""

from typing import Annotated, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from bazaar import wiring
from bazaar.domain.catalog import Listing
from bazaar.schemas.catalog import ProductPage
from bazaar.services import catalog
from bazaar.web.cursors import MAX_CURSOR_LENGTH, SignedCursors
from bazaar.web.http import http_handler, make_app
from bazaar.web.responses import json_response

app = make_app()


@app.get("/products", summary="List products, newest first", tags=["catalog"],
         responses={200: {"description": "A page of products"}})
def list_products(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Optional[str], Query(min_length=1, max_length=MAX_CURSOR_LENGTH)] = None,
    seller_id: Annotated[Optional[str], Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-:.]+$")] = None,
) -> Response[ProductPage]:
    cursors = SignedCursors(f"products:{seller_id or '*'}", wiring.cursor_key)  # a cursor continues its listing
    page, hit = catalog.list_products(wiring.products(), wiring.cache(), Listing(seller_id, limit, cursor), cursors)
    return json_response(200, page.to_dict(), {"X-Cache": "HIT" if hit else "MISS", "Cache-Control": "no-cache"})


handler = http_handler("list_products", app)
