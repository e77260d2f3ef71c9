"""What the routes served without the request resolver share (``bazaar.web.platform``, ``bazaar.web.reads``,
``bazaar.web.endpoint``): a route of the manifest, its Lambda entry point, and the resolver that documents it, built
only for the OpenAPI document (and for tests that compare the two).

The resolver and its validation are most of such a function's cold start (``make bench``, docs/cold-starts.md)."""

from __future__ import annotations

import inspect
import json
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

    from bazaar.web.params import Param


class LeanRoute:
    """Subclasses answer an event (``_respond``) and declare the route on a resolver (``_declare``)."""

    validation = True  # whether the documenting resolver declares (and, resolving, validates) parameters
    public_get_only = True  # the platform and read routes: no caller, no body, no state change

    def __init__(self, function_name: str, *, summary: str, tags: Sequence[str],
                 responses: Union[None, dict[int, Any], Callable[[], dict[int, Any]]] = None) -> None:
        """``responses``: what the document declares per status, in Powertools' shape, or a function returning it
        (called only when the document is built: a response ``model`` would import pydantic at cold start)."""
        fn = manifest.get(function_name)
        if fn.route is None or (self.public_get_only and (fn.route.method != "GET" or not fn.route.public)):
            raise ValueError(f"{function_name} is not a {'public GET ' if self.public_get_only else ''}route "
                             "in the manifest")
        self.function_name, self.route, self.path = function_name, fn.route, fn.route.path
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


def declare(app: "APIGatewayHttpResolver", route: LeanRoute, name: str, params: Sequence["Param"],
            call: Callable[..., dict[str, Any]], *, body: Optional[tuple[str, Any]] = None,
            returns: Optional[Callable[[], Any]] = None) -> None:
    """Declare ``route`` on ``app`` with a signature made of ``params`` (and ``body``: its argument name and model),
    answering with ``call(**arguments)``'s API Gateway result. Powertools reads the signature for the document and,
    resolving, validates requests against it."""

    def declared(**kwargs: Any) -> Any:
        from aws_lambda_powertools.event_handler import Response

        answer = call(**kwargs)
        headers = dict(answer.get("headers") or {})
        content_type = headers.pop("Content-Type", None)
        return Response(answer["statusCode"], content_type,
                        json.loads(answer["body"]) if answer.get("body") else None, headers)

    declared.__name__ = declared.__qualname__ = name  # the operationId is made from it
    ordered = sorted(params, key=lambda p: p.source != "path")
    parameters = [inspect.Parameter(p.arg, inspect.Parameter.KEYWORD_ONLY, annotation=p.annotation(),
                                    default=inspect.Parameter.empty if p.required else p.default)
                  for p in ordered]
    if body is not None:
        parameters.append(inspect.Parameter(body[0], inspect.Parameter.KEYWORD_ONLY, annotation=body[1]))
    declared.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=returns() if returns else inspect.Signature.empty)
    add = getattr(app, route.route.method.lower())
    add(route.path.replace("{", "<").replace("}", ">"), summary=route.summary, tags=route.tags,
        responses=route.responses)(declared)
