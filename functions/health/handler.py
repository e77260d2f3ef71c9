"""GET /health: liveness. Touches no dependency, so it answers even when they are down."""

from typing import Any

from bazaar import settings
from bazaar.web.platform import PlatformRoute

route = PlatformRoute("health", summary="Liveness", tags=["platform"])


@route
def health() -> dict:
    return {"status": "ok", "service": "bazaar", "stage": settings.stage()}


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
