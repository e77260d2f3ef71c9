"""GET /health: liveness. Touches no dependency, so it answers even when they are down."""

from bazaar import settings
from bazaar.web.documented import ok
from bazaar.web.http import http_handler, make_app

app = make_app(validation=False)  # no input to validate


HEALTH = {"type": "object", "required": ["status", "service", "stage"],
          "properties": {"status": {"const": "ok"}, "service": {"type": "string"}, "stage": {"type": "string"}}}


@app.get("/health", summary="Liveness", tags=["platform"], responses={200: ok("Alive", schema=HEALTH)})
def health() -> dict:
    return {"status": "ok", "service": "bazaar", "stage": settings.stage()}


handler = http_handler("health", app)
