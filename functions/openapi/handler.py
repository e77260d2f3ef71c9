"""GET /openapi.json: the OpenAPI 3.1 document of every route, built from the code (cached per container)."""

from aws_lambda_powertools.event_handler import Response

from bazaar.web.documented import ok
from bazaar.web.http import http_handler, make_app

app = make_app(validation=False)  # no input to validate


@app.get("/openapi.json", summary="OpenAPI 3.1 document of the whole API", tags=["platform"],
         responses={200: ok("This document", schema={"type": "object", "required": ["openapi", "info", "paths"]})})
def openapi() -> Response[str]:
    from bazaar.web.openapi import openapi_json  # imports every route module: only this function pays for it

    return Response(200, "application/json", openapi_json(), headers={"Cache-Control": "public, max-age=300"})


handler = http_handler("openapi", app)
