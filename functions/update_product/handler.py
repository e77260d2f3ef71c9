"""PATCH /products/{product_id}: partial update by the owning seller or an admin; optional If-Match."""

from typing import Annotated, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header

from bazaar import wiring
from bazaar.schemas.catalog import ProductChanges, ProductOut
from bazaar.services import catalog
from bazaar.web.documented import ETAG, ok, problem
from bazaar.web.http import current_actor, http_handler, make_app
from bazaar.web.responses import product_response

app = make_app()


@app.patch("/products/<product_id>", summary="Update a product (owning seller or admin)", tags=["catalog"],
           responses={200: ok("Updated; version increased by 1", ProductOut, headers=ETAG),
                      403: problem("Not the owning seller (nor an admin)"),
                      404: problem("No such product"),
                      409: problem("Changed concurrently by others; retry"),
                      412: problem("If-Match does not match the current version"),
                      422: problem("Invalid changes, or none")})
def update_product(
    product_id: str,
    changes: ProductChanges,
    if_match: Annotated[Optional[str], Header(alias="if-match", max_length=1024)] = None,
) -> Response[ProductOut]:
    updated = catalog.update_product(wiring.products(), wiring.cache(), current_actor(app), product_id,
                                     changes.changes(), if_match)
    return product_response(200, updated)


handler = http_handler("update_product", app)
