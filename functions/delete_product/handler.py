"""DELETE /products/{product_id}: by the owning seller or an admin; afterwards GET is 404.

Served without the request resolver (bazaar.web.endpoint): its parameters are declared once, enforced here and
documented from the same declaration."""

from typing import Any, Optional

from bazaar import wiring
from bazaar.domain.identity import Actor
from bazaar.services import catalog
from bazaar.web.documented import no_body, problem
from bazaar.web.endpoint import Endpoint
from bazaar.web.params import Param, result


def _returns() -> Any:  # for the document only
    from aws_lambda_powertools.event_handler import Response

    return Response[None]


route = Endpoint(
    "delete_product", summary="Delete a product (owning seller or admin)", tags=["catalog"], returns=_returns,
    params=[Param("product_id", "path"), Param("if-match", "header", max_length=1024)],
    responses={204: no_body("Deleted; afterwards GET is 404"),
               403: problem("Not the owning seller (nor an admin)"),
               404: problem("No such product"),
               409: problem("Changed concurrently by others; retry"),
               412: problem("If-Match does not match the current version")})


@route
def delete_product(actor: Actor, product_id: str, if_match: Optional[str] = None) -> dict[str, Any]:
    catalog.delete_product(wiring.products(), wiring.cache(), actor, product_id, if_match)
    return result(204)


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
