"""PATCH /products/{product_id}: partial update by the owning seller or an admin; optional If-Match.

Served without the request resolver (bazaar.web.endpoint): parameters declared once, the body validated by its
model's compiled validator, built on the first request."""

from typing import TYPE_CHECKING, Any, Optional

from bazaar import wiring
from bazaar.domain.identity import Actor
from bazaar.services import catalog
from bazaar.web.documented import ETAG, ok, problem
from bazaar.web.endpoint import Body, Endpoint
from bazaar.web.params import Param
from bazaar.web.responses import product_result

if TYPE_CHECKING:
    from bazaar.schemas.catalog import ProductChanges


def _returns() -> Any:  # the 200 body, for the document only
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.catalog import ProductOut

    return Response[ProductOut]


def _responses() -> dict[int, Any]:
    from bazaar.schemas.catalog import ProductOut

    return {200: ok("Updated; version increased by 1", ProductOut, headers=ETAG),
            403: problem("Not the owning seller (nor an admin)"),
            404: problem("No such product"),
            409: problem("Changed concurrently by others; retry"),
            412: problem("If-Match does not match the current version"),
            422: problem("Invalid changes, or none")}


route = Endpoint(
    "update_product", summary="Update a product (owning seller or admin)", tags=["catalog"], returns=_returns,
    params=[Param("product_id", "path"), Param("if-match", "header", max_length=1024)],
    body=Body("changes", "bazaar.schemas.catalog:ProductChanges"), responses=_responses)


@route
def update_product(actor: Actor, product_id: str, changes: "ProductChanges",
                   if_match: Optional[str] = None) -> dict[str, Any]:
    sent = changes.model_dump(exclude_unset=True)  # only the fields sent change
    updated = catalog.update_product(wiring.products(), wiring.cache(), actor, product_id, sent, if_match)
    return product_result(200, updated)


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
