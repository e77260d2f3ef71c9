"""POST /orders/{order_id}/cancel: by the order's customer or an admin; stock goes back exactly once, and a paid
order is refunded. Cancelling a cancelled order is a 409; anyone else's order is a 404.

Served without the request resolver (bazaar.web.endpoint)."""

from typing import Any

from bazaar import wiring
from bazaar.domain.identity import Actor
from bazaar.services import orders
from bazaar.web.documented import ok, problem
from bazaar.web.endpoint import Endpoint
from bazaar.web.params import Param, result


def _returns() -> Any:  # the 200 body, for the document only (pydantic is not imported at run time)
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.orders import OrderOut

    return Response[OrderOut]


def _responses() -> dict[int, Any]:
    from bazaar.schemas.orders import OrderOut

    return {200: ok("The cancelled order", OrderOut),
            404: problem("No such order, or not the caller's"),
            409: problem("The order is no longer cancellable (already cancelled)")}


route = Endpoint("cancel_order", summary="Cancel an order (its customer or an admin)", tags=["orders"],
                 returns=_returns, params=[Param("order_id", "path")], responses=_responses)


@route
def cancel_order(actor: Actor, order_id: str) -> dict[str, Any]:
    order = orders.cancel_order(wiring.orders(), actor, order_id)
    return result(200, order.to_dict())


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
