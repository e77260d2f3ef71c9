"""POST /payments/webhook: the payment provider tells us how a payment ended (contract §5). No JWT: the request
proves its origin with ``Bazaar-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, checked before
the body is even parsed. Each provider ``event_id`` takes effect once: a replay answers 200 with the first
answer and changes nothing (Powertools idempotency; the order's conditional status writes behind it)."""

import base64
import binascii
import json
from typing import Any, Mapping, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import wiring
from bazaar.consumers import exactly_once, register_context
from bazaar.domain.payments import BadSignature
from bazaar.observability import logger
from bazaar.schemas.orders import WebhookEvent, WebhookReceipt
from bazaar.services import payments
from bazaar.web.documented import ok
from bazaar.web.documented import problem as documented_problem
from bazaar.web.http import http_handler, make_app
from bazaar.web.idempotency import idempotency_problems
from bazaar.web.problems import PROBLEM_JSON, problem_body
from bazaar.web.responses import json_response

NAME = "payment_webhook"
SIGNATURE_HEADER = "bazaar-signature"

app = make_app()
verifier = payments.WebhookVerifier(lambda force: wiring.webhook_secret(force_fetch=force))


def _apply(message: dict[str, Any]) -> dict[str, Any]:
    receipt = payments.apply_webhook(wiring.orders(), message["type"], message["order_id"])
    logger.info("payment webhook applied", extra={"provider_event_id": message["event_id"], **receipt})
    return {"event_id": message["event_id"], **receipt}


# Keyed on the provider's event id; the same id with another type or order is refused (422), not applied.
apply_once = exactly_once(NAME, _apply, payload_jmespath="[type, order_id]")


def _result(status: int, detail: str, headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON, **(headers or {})},
            "body": json.dumps(problem_body(status, detail)), "isBase64Encoded": False}


def authenticate(event: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """None if the signature is good; else the 401 (or 503 when the secret cannot be read) to answer."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
        verifier.verify(headers.get(SIGNATURE_HEADER), raw)
    except (BadSignature, binascii.Error, UnicodeEncodeError) as exc:
        logger.warning("payment webhook refused", extra={"reason": type(exc).__name__})  # never the header itself
        return _result(401, "missing, malformed, stale or invalid Bazaar-Signature")
    except Exception:  # Secrets Manager unreachable: the provider retries later
        logger.exception("webhook secret unavailable")
        return _result(503, "cannot verify webhooks right now; retry later", {"Retry-After": "5"})
    return None


idempotency_problems(app, key="event_id", key_loc=["body", "event_id"])


@app.post("/payments/webhook", summary="Payment provider webhook (signed, no JWT)", tags=["payments"],
          responses={200: ok("Applied, or a replay of an event already applied (no second effect)",
                             WebhookReceipt),
                     401: documented_problem("Missing, malformed, stale (over 300 s) or invalid signature"),
                     404: documented_problem("No such order"),
                     409: documented_problem("The same event is being processed right now"),
                     422: documented_problem("Invalid body, or an event_id reused for another payload"),
                     503: documented_problem("The signing secret cannot be read right now; retry later")})
def payment_webhook(event: WebhookEvent) -> Response[WebhookReceipt]:
    return json_response(200, apply_once(event.model_dump()))


_entry = http_handler(NAME, app, authenticate=authenticate)


def handler(event: dict, context: LambdaContext) -> dict:
    register_context(NAME, context)
    return _entry(event, context)
