"""GET /orders/{order_id}: the order's customer or an admin; to anyone else it does not exist (404)."""

from aws_lambda_powertools.event_handler import Response

from bazaar import wiring
from bazaar.schemas.orders import OrderOut
from bazaar.services import orders
from bazaar.web.documented import ok, problem
from bazaar.web.http import current_actor, http_handler, make_app
from bazaar.web.responses import json_response

app = make_app()


@app.get("/orders/<order_id>", summary="Get an order (its customer or an admin)", tags=["orders"],
         responses={200: ok("The order", OrderOut), 404: problem("No such order, or not the caller's")})
def get_order(order_id: str) -> Response[OrderOut]:
    order = orders.get_order(wiring.orders(), current_actor(app), order_id)
    return json_response(200, order.to_dict(), {"Cache-Control": "no-store"})


handler = http_handler("get_order", app)
