"""The platform routes (health, the API document, its UI): public GETs with no input and no AWS call.

They answer without the Powertools resolver, whose import is most of their cold start (``make bench``,
docs/tracing.md): a resolver with their route is built only when the OpenAPI document is generated, from the same
declaration (``PlatformRoute.documented``), so the document and the runtime cannot disagree on the route.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest
from bazaar.observability import logger, metrics, traced
from bazaar.settings import MAX_BODY_BYTES
from bazaar.web.limits import body_size
from bazaar.web.problems import problem_result

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

View = Callable[[], Union[bytes, str, dict[str, Any]]]


class PlatformRoute:
    """One manifest route served by ``view``: a dict is answered as JSON, a string or bytes as ``content_type``
    (bytes base64-encoded, which API Gateway decodes: a large page is never decoded into a Python string)."""

    def __init__(self, function_name: str, *, summary: str, tags: Sequence[str], content_type: str = "application/json",
                 headers: Optional[dict[str, str]] = None, responses: Optional[dict[int, Any]] = None) -> None:
        """``responses``: what the document declares per status, in Powertools' shape (default: the 200 inferred
        from the view's annotation)."""
        fn = manifest.get(function_name)
        if fn.route is None or fn.route.method != "GET" or not fn.route.public:
            raise ValueError(f"{function_name} is not a public GET route in the manifest")
        self.function_name, self.path = function_name, fn.route.path
        self.summary, self.tags = summary, list(tags)
        self.content_type, self.headers, self.responses = content_type, dict(headers or {}), responses
        self._view: Optional[View] = None
        self._documented: Optional["APIGatewayHttpResolver"] = None

    def __call__(self, view: View) -> View:
        self._view = view
        return view

    def _respond(self) -> dict[str, Any]:
        assert self._view is not None, "no view registered"
        value = self._view()
        encoded = isinstance(value, bytes)
        if encoded:
            content_type, body = self.content_type, base64.b64encode(value).decode("ascii")
        elif isinstance(value, str):
            content_type, body = self.content_type, value
        else:  # as the resolver serializes a dict
            content_type, body = "application/json", json.dumps(value, separators=(",", ":"))
        return {"statusCode": 200, "headers": {"Content-Type": content_type, **self.headers}, "body": body,
                "isBase64Encoded": encoded}

    @property
    def handler(self) -> Callable[[dict, LambdaContext], dict]:
        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
        @traced
        @metrics.log_metrics
        def handler(event: dict, context: LambdaContext) -> dict:
            if body_size(event) > MAX_BODY_BYTES:
                return problem_result(413, f"request body exceeds {MAX_BODY_BYTES} bytes")
            try:
                return self._respond()
            except Exception:  # our failure, never the client's: still problem+json
                logger.exception("unhandled error")
                metrics.add_metric(name="ServerErrors", unit="Count", value=1)
                return problem_result(500, "internal error")

        return handler

    def documented(self) -> "APIGatewayHttpResolver":
        """A resolver with this route, as the OpenAPI document declares it (built on first use)."""
        if self._documented is None:
            from bazaar.web.http import make_app

            app = make_app(validation=False)
            app.get(self.path, summary=self.summary, tags=self.tags, responses=self.responses)(self._view)
            self._documented = app
        return self._documented

    def module_attribute(self, name: str) -> Any:
        """For the handler module's ``__getattr__``: ``app`` is the documented resolver, built only when asked."""
        if name == "app":
            return self.documented()
        raise AttributeError(name)
