"""GET /orders: the caller's own orders, newest first, with signed cursors.

Served without the request resolver (bazaar.web.endpoint): its parameters are declared once, enforced here and
documented from the same declaration."""

from typing import Any, Optional

from bazaar import wiring
from bazaar.domain.identity import Actor
from bazaar.services import orders
from bazaar.web.cursors import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor
from bazaar.web.documented import ok
from bazaar.web.endpoint import Endpoint
from bazaar.web.params import Param, result


def _returns() -> Any:  # the 200 body, for the document only (pydantic is not imported at run time)
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.orders import OrderPageOut

    return Response[OrderPageOut]


def _responses() -> dict[int, Any]:
    from bazaar.schemas.orders import OrderPageOut

    return {200: ok("A page of the caller's orders", OrderPageOut)}


route = Endpoint(
    "list_orders", summary="List my orders, newest first (customer)", tags=["orders"], returns=_returns,
    params=[Param("limit", "query", int, default=20, ge=1, le=100),
            Param("cursor", "query", min_length=1, max_length=MAX_CURSOR_LENGTH)],
    responses=_responses)


@route
def list_orders(actor: Actor, limit: int = 20, cursor: Optional[str] = None) -> dict[str, Any]:
    scope = f"orders:{actor.sub}"  # a cursor only continues this customer's listing
    key = wiring.cursor_key()
    start = decode_cursor(cursor, scope, key) if cursor is not None else None
    page = orders.list_orders(wiring.orders(), actor, limit, start)
    body = {"items": [o.to_dict() for o in page.items],
            "next_cursor": encode_cursor(page.position, scope, key) if page.position else None}
    return result(200, body, {"Cache-Control": "no-store"})


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
