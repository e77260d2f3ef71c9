"""GET /docs: Swagger UI with its JavaScript, CSS and the spec inlined, so it works with no internet."""

from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from bazaar.web.documented import ok
from bazaar.web.http import http_handler, make_app

app = make_app(validation=False)  # no input to validate


@lru_cache(maxsize=1)
def _page() -> str:
    import aws_lambda_powertools.event_handler as event_handler
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    from bazaar.web.openapi import openapi_json

    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
    spec = openapi_json().replace("</", "<\\/")  # keep the inlined JSON from closing the <script> tag
    return generate_swagger_html(spec, (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
                                 (assets / "swagger-ui.min.css").read_text(encoding="utf-8"), "", None)


@app.get("/docs", summary="Swagger UI", tags=["platform"],
         responses={200: ok("The Swagger UI page, self-contained", media_type="text/html",
                            schema={"type": "string"})})
def docs() -> Response[str]:
    return Response(200, "text/html; charset=utf-8", _page(), headers={"Cache-Control": "public, max-age=300"})


handler = http_handler("docs", app)
