"""GET /orders: the caller's own orders, newest first, with signed cursors."""

from typing import Annotated, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from bazaar import wiring
from bazaar.schemas.orders import OrderPageOut
from bazaar.services import orders
from bazaar.web.cursors import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor
from bazaar.web.documented import ok
from bazaar.web.http import current_actor, http_handler, make_app
from bazaar.web.responses import json_response

app = make_app()


@app.get("/orders", summary="List my orders, newest first (customer)", tags=["orders"],
         responses={200: ok("A page of the caller's orders", OrderPageOut)})
def list_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Optional[str], Query(min_length=1, max_length=MAX_CURSOR_LENGTH)] = None,
) -> Response[OrderPageOut]:
    actor = current_actor(app)
    scope = f"orders:{actor.sub}"  # a cursor only continues this customer's listing
    key = wiring.cursor_key()
    start = decode_cursor(cursor, scope, key) if cursor is not None else None
    page = orders.list_orders(wiring.orders(), actor, limit, start)
    body = {"items": [o.to_dict() for o in page.items],
            "next_cursor": encode_cursor(page.position, scope, key) if page.position else None}
    return json_response(200, body, {"Cache-Control": "no-store"})


handler = http_handler("list_orders", app)
