"""DELETE /products/{product_id}: by the owning seller or an admin; afterwards GET is 404."""

from typing import Annotated, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header

from bazaar import wiring
from bazaar.services import catalog
from bazaar.web.documented import no_body, problem
from bazaar.web.http import current_actor, http_handler, make_app

app = make_app()


@app.delete("/products/<product_id>", summary="Delete a product (owning seller or admin)", tags=["catalog"],
            responses={204: no_body("Deleted; afterwards GET is 404"),
                       403: problem("Not the owning seller (nor an admin)"),
                       404: problem("No such product"),
                       409: problem("Changed concurrently by others; retry"),
                       412: problem("If-Match does not match the current version")})
def delete_product(
    product_id: str,
    if_match: Annotated[Optional[str], Header(alias="if-match", max_length=1024)] = None,
) -> Response[None]:
    catalog.delete_product(wiring.products(), wiring.cache(), current_actor(app), product_id, if_match)
    return Response(204)


handler = http_handler("delete_product", app)
