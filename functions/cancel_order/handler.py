"""POST /orders/{order_id}/cancel: by the order's customer or an admin; stock goes back exactly once, and a paid
order is refunded. Cancelling a cancelled order is a 409; anyone else's order is a 404."""

from aws_lambda_powertools.event_handler import Response

from bazaar import wiring
from bazaar.schemas.orders import OrderOut
from bazaar.services import orders
from bazaar.web.documented import ok, problem
from bazaar.web.http import current_actor, http_handler, make_app
from bazaar.web.responses import json_response

app = make_app()


@app.post("/orders/<order_id>/cancel", summary="Cancel an order (its customer or an admin)", tags=["orders"],
          responses={200: ok("The cancelled order", OrderOut),
                     404: problem("No such order, or not the caller's"),
                     409: problem("The order is no longer cancellable (already cancelled)")})
def cancel_order(order_id: str) -> Response[OrderOut]:
    order = orders.cancel_order(wiring.orders(), current_actor(app), order_id)
    return json_response(200, order.to_dict())


handler = http_handler("cancel_order", app)
