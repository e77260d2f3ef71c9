"""GET /health: liveness. Touches no dependency, so it answers even when they are down."""

from typing import Any

from bazaar import settings
from bazaar.web.documented import ok
from bazaar.web.platform import PlatformRoute

HEALTH = {"type": "object", "required": ["status", "service", "stage"],
          "properties": {"status": {"const": "ok"}, "service": {"type": "string"}, "stage": {"type": "string"}}}

route = PlatformRoute("health", summary="Liveness", tags=["platform"], responses={200: ok("Alive", schema=HEALTH)})


@route
def health() -> dict:
    return {"status": "ok", "service": "bazaar", "stage": settings.stage()}


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
