"""The platform routes (health, the API document, its UI): public GETs with no input and no AWS call, answered
without the request resolver (``bazaar.web.lean``); their route is declared on one only for the OpenAPI document."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

from bazaar.web.lean import LeanRoute

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


class PlatformRoute(LeanRoute):
    """One manifest route served by ``view()``: a dict is answered as JSON, a string or bytes as ``content_type``
    (bytes base64-encoded, which API Gateway decodes: a large page is never decoded into a Python string)."""

    validation = False  # no input

    def __init__(self, function_name: str, *, summary: str, tags: Sequence[str], content_type: str = "application/json",
                 headers: Optional[dict[str, str]] = None,
                 responses: Union[None, dict[int, Any], Callable[[], dict[int, Any]]] = None) -> None:
        """``responses``: what the document declares per status, in Powertools' shape (default: the 200 inferred
        from the view's annotation)."""
        super().__init__(function_name, summary=summary, tags=tags, responses=responses)
        self.content_type, self.headers = content_type, dict(headers or {})

    def _respond(self, event: Mapping[str, Any]) -> dict[str, Any]:
        assert self._view is not None, "no view registered"
        value: Union[bytes, str, dict[str, Any]] = self._view()
        encoded = isinstance(value, bytes)
        if isinstance(value, bytes):
            content_type, body = self.content_type, base64.b64encode(value).decode("ascii")
        elif isinstance(value, str):
            content_type, body = self.content_type, value
        else:  # as the resolver serializes a dict
            content_type, body = "application/json", json.dumps(value, separators=(",", ":"))
        return {"statusCode": 200, "headers": {"Content-Type": content_type, **self.headers}, "body": body,
                "isBase64Encoded": encoded}

    def _declare(self, app: "APIGatewayHttpResolver", view: Callable[..., Any]) -> None:
        app.get(self.path, summary=self.summary, tags=self.tags, responses=self.responses)(view)
