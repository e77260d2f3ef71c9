"""POST /products: a seller lists a product; the caller (token ``sub``) is the seller.

Served without the request resolver (bazaar.web.endpoint): the body is validated by its model's compiled validator
(bazaar.schemas.compiled), built on the first request."""

from typing import TYPE_CHECKING, Any

from bazaar import wiring
from bazaar.domain.identity import Actor
from bazaar.services import catalog
from bazaar.web.documented import ETAG, LOCATION, ok
from bazaar.web.endpoint import Body, Endpoint
from bazaar.web.responses import product_result

if TYPE_CHECKING:
    from bazaar.schemas.catalog import NewProduct


def _returns() -> Any:  # the 201 body, for the document only
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.catalog import ProductOut

    return Response[ProductOut]


def _responses() -> dict[int, Any]:
    from bazaar.schemas.catalog import ProductOut

    return {201: ok("Created; the caller is its seller", ProductOut, headers={**ETAG, **LOCATION})}


route = Endpoint("create_product", summary="Create a product (seller)", tags=["catalog"], returns=_returns,
                 body=Body("product", "bazaar.schemas.catalog:NewProduct"), responses=_responses)


@route
def create_product(actor: Actor, product: "NewProduct") -> dict[str, Any]:
    created = catalog.create_product(wiring.products(), wiring.cache(), actor, product.model_dump())
    return product_result(201, created, {"Location": f"/products/{created.product_id}"})


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
