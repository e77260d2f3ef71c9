"""POST /products: a seller lists a product; the caller (token ``sub``) is the seller."""

from aws_lambda_powertools.event_handler import Response

from bazaar import wiring
from bazaar.schemas.catalog import NewProduct, ProductOut
from bazaar.services import catalog
from bazaar.web.documented import ETAG, LOCATION, ok
from bazaar.web.http import current_actor, http_handler, make_app
from bazaar.web.responses import product_response

app = make_app()


@app.post("/products", summary="Create a product (seller)", tags=["catalog"],
          responses={201: ok("Created; the caller is its seller", ProductOut, headers={**ETAG, **LOCATION})})
def create_product(product: NewProduct) -> Response[ProductOut]:
    created = catalog.create_product(wiring.products(), wiring.cache(), current_actor(app), product.model_dump())
    return product_response(201, created, {"Location": f"/products/{created.product_id}"})


handler = http_handler("create_product", app)
