"""What the routes served without the request resolver share (``bazaar.web.platform``, ``bazaar.web.reads``): a
public GET of the manifest, its Lambda entry point (logging context, tracing when opted in, metrics, the body size
limit, problem+json for our own failures) and the resolver that documents it, built only for the OpenAPI document.

The resolver and its validation are most of such a function's cold start (``make bench``, docs/tracing.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest
from bazaar.observability import logger, metrics, traced
from bazaar.settings import MAX_BODY_BYTES
from bazaar.web.limits import body_size
from bazaar.web.problems import problem_result

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


class LeanRoute:
    """Subclasses answer an event (``_respond``) and declare the route on a resolver (``_declare``)."""

    validation = True  # whether the documenting resolver declares (and, resolving, validates) parameters

    def __init__(self, function_name: str, *, summary: str, tags: Sequence[str],
                 responses: Union[None, dict[int, Any], Callable[[], dict[int, Any]]] = None) -> None:
        """``responses``: what the document declares per status, in Powertools' shape, or a function returning it
        (called only when the document is built: a response ``model`` would import pydantic at cold start)."""
        fn = manifest.get(function_name)
        if fn.route is None or fn.route.method != "GET" or not fn.route.public:
            raise ValueError(f"{function_name} is not a public GET route in the manifest")
        self.function_name, self.path = function_name, fn.route.path
        self.summary, self.tags, self._responses = summary, list(tags), responses
        self._view: Optional[Callable[..., Any]] = None
        self._documented: Optional["APIGatewayHttpResolver"] = None

    @property
    def responses(self) -> Optional[dict[int, Any]]:
        return self._responses() if callable(self._responses) else self._responses

    def __call__(self, view: Callable[..., Any]) -> Callable[..., Any]:
        self._view = view
        return view

    def _respond(self, event: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _declare(self, app: "APIGatewayHttpResolver", view: Callable[..., Any]) -> None:
        raise NotImplementedError

    @property
    def handler(self) -> Callable[[dict, LambdaContext], dict]:
        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
        @traced
        @metrics.log_metrics
        def handler(event: dict, context: LambdaContext) -> dict:
            if body_size(event) > MAX_BODY_BYTES:
                return problem_result(413, f"request body exceeds {MAX_BODY_BYTES} bytes")
            try:
                return self._respond(event)
            except Exception:  # our failure, never the client's: still problem+json
                logger.exception("unhandled error")
                metrics.add_metric(name="ServerErrors", unit="Count", value=1)
                return problem_result(500, "internal error")

        return handler

    def documented(self) -> "APIGatewayHttpResolver":
        """A resolver with this route as the OpenAPI document declares it (built on first use)."""
        if self._documented is None:
            from bazaar.web.http import make_app

            assert self._view is not None, "no view registered"
            app = make_app(validation=self.validation)
            self._declare(app, self._view)
            self._documented = app
        return self._documented

    def module_attribute(self, name: str) -> Any:
        """For the handler module's ``__getattr__``: ``app`` is the documented resolver, built only when asked."""
        if name == "app":
            return self.documented()
        raise AttributeError(name)
