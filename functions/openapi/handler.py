"""GET /openapi.json: the OpenAPI 3.1 document of every route, generated from the routers.

The build generates it next to this module (infra/assets.py runs ``python -m bazaar.web.openapi``), so a cold
start reads one file instead of importing every router; a checkout without it (the local stack, the tests)
generates it from the routers on first use.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

from bazaar.web.documented import ok
from bazaar.web.platform import PlatformRoute

DOCUMENT = Path(__file__).with_name("openapi.json")

route = PlatformRoute("openapi", summary="OpenAPI 3.1 document of the whole API", tags=["platform"],
                      headers={"Cache-Control": "public, max-age=300"},
                      responses={200: ok("This document",
                                         schema={"type": "object", "required": ["openapi", "info", "paths"]})})


@lru_cache(maxsize=1)
def _document() -> str:
    if DOCUMENT.is_file():
        return DOCUMENT.read_text(encoding="utf-8")
    from bazaar.web.openapi import openapi_json  # imports every route module

    return openapi_json()


@route
def openapi() -> str:
    return _document()


handler = route.handler


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
