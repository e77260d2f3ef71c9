"""POST /payments/webhook: the payment provider tells us how a payment ended (contract §5). No JWT: the request
proves its origin with ``Bazaar-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, checked before
the body is even parsed. Each provider ``event_id`` takes effect once: a replay answers 200 with the first
answer and changes nothing (Powertools idempotency; the order's conditional status writes behind it).

Served without the request resolver (bazaar.web.endpoint): the body is validated by its model's compiled validator
(bazaar.schemas.compiled), built on the first request."""

import base64
import binascii
from typing import TYPE_CHECKING, Any, Mapping, Optional

from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import wiring
from bazaar.consumers import exactly_once, register_context
from bazaar.domain.payments import BadSignature
from bazaar.observability import logger
from bazaar.services import payments
from bazaar.web.documented import ok
from bazaar.web.documented import problem as documented_problem
from bazaar.web.endpoint import Body, Endpoint
from bazaar.web.idempotency import IdempotencyProblems
from bazaar.web.params import result
from bazaar.web.problems import problem_result

if TYPE_CHECKING:
    from bazaar.schemas.orders import WebhookEvent

NAME = "payment_webhook"
SIGNATURE_HEADER = "bazaar-signature"

verifier = payments.WebhookVerifier(lambda force: wiring.webhook_secret(force_fetch=force))


def _apply(message: dict[str, Any]) -> dict[str, Any]:
    receipt = payments.apply_webhook(wiring.orders(), message["type"], message["order_id"])
    logger.info("payment webhook applied", extra={"provider_event_id": message["event_id"], **receipt})
    return {"event_id": message["event_id"], **receipt}


# Keyed on the provider's event id; the same id with another type or order is refused (422), not applied.
apply_once = exactly_once(NAME, _apply, payload_jmespath="[type, order_id]")


def authenticate(event: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """None if the signature is good; else the 401 (or 503 when the secret cannot be read) to answer."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
        verifier.verify(headers.get(SIGNATURE_HEADER), raw)
    except (BadSignature, binascii.Error, UnicodeEncodeError) as exc:
        logger.warning("payment webhook refused", extra={"reason": type(exc).__name__})  # never the header itself
        return problem_result(401, "missing, malformed, stale or invalid Bazaar-Signature")
    except Exception:  # Secrets Manager unreachable: the provider retries later
        logger.exception("webhook secret unavailable")
        return problem_result(503, "cannot verify webhooks right now; retry later", headers={"Retry-After": "5"})
    return None


def _returns() -> Any:  # the 200 body, for the document only
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.orders import WebhookReceipt

    return Response[WebhookReceipt]


def _responses() -> dict[int, Any]:
    from bazaar.schemas.orders import WebhookReceipt

    return {200: ok("Applied, or a replay of an event already applied (no second effect)", WebhookReceipt),
            401: documented_problem("Missing, malformed, stale (over 300 s) or invalid signature"),
            404: documented_problem("No such order"),
            409: documented_problem("The same event is being processed right now"),
            422: documented_problem("Invalid body, or an event_id reused for another payload"),
            503: documented_problem("The signing secret cannot be read right now; retry later")}


route = Endpoint(
    NAME, summary="Payment provider webhook (signed, no JWT)", tags=["payments"], returns=_returns,
    responses=_responses, authenticate=authenticate, body=Body("event", "bazaar.schemas.orders:WebhookEvent"),
    problems=[IdempotencyProblems(key="event_id", key_loc=["body", "event_id"])])


@route
def payment_webhook(event: "WebhookEvent") -> dict[str, Any]:
    receipt = apply_once(event.model_dump())
    # The receipt as the document's WebhookReceipt has it: every field, ``status`` null when no order changed.
    return result(200, {"event_id": receipt["event_id"], "order_id": receipt["order_id"],
                        "effect": receipt["effect"], "status": receipt.get("status")})


_entry = route.handler


def handler(event: dict, context: LambdaContext) -> dict:
    register_context(NAME, context)
    return _entry(event, context)


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
