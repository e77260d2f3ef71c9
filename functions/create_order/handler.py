"""POST /orders: a customer places an order; every line's stock is reserved atomically with it.

Idempotent per customer and ``Idempotency-Key`` (Powertools idempotency on the single table): the same key and
body return the first order (201, ``Idempotent-Replayed: true``) and create nothing; the same key with another body
is a 422; while the first request is still running, 409. Another customer's identical key is another record."""

from contextvars import ContextVar
from functools import lru_cache
from typing import Annotated, Any, Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig,
                                                         idempotent_function)
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest, settings, wiring
from bazaar.domain.identity import Actor
from bazaar.domain.orders import LineRequest, PaymentMethod
from bazaar.schemas.orders import IDEMPOTENCY_KEY_PATTERN, NewOrder, OrderOut
from bazaar.services import orders
from bazaar.web.documented import LOCATION, ok
from bazaar.web.documented import problem as documented_problem
from bazaar.web.http import current_actor, http_handler, make_app
from bazaar.web.idempotency import idempotency_problems
from bazaar.web.responses import json_response

NAME = "create_order"
IDEMPOTENCY_TTL_S = 24 * 3600  # a client retries within minutes; a day covers any sane retry policy

app = make_app()
CONFIG = IdempotencyConfig(event_key_jmespath="[customer, key]", payload_validation_jmespath="order",
                           raise_on_no_idempotency_key=True, expires_after_seconds=IDEMPOTENCY_TTL_S)
_executed: ContextVar[bool] = ContextVar("executed", default=False)


def _place(request: dict[str, Any]) -> dict[str, Any]:
    _executed.set(True)
    actor = Actor(sub=request["customer"], groups=frozenset(request["groups"]))
    body = request["order"]
    order = orders.place_order(wiring.orders(), wiring.products(), wiring.cache(), actor,
                               [LineRequest(i["product_id"], i["quantity"]) for i in body["items"]],
                               PaymentMethod(body["payment_method"]))
    return order.to_dict()


@lru_cache(maxsize=1)
def _place_once() -> Callable[..., dict[str, Any]]:
    # Built on first use: the table name is only in the function's own environment.
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table_name(), key_attr="PK", sort_key_attr="SK", expiry_attr="ttl",
        static_pk_value=manifest.idempotency_partition(manifest.get(NAME)))
    return idempotent_function(data_keyword_argument="request", config=CONFIG, persistence_store=persistence)(_place)


idempotency_problems(app, key="Idempotency-Key", key_loc=["header", "idempotency-key"])


@app.post("/orders", summary="Place an order (customer)", tags=["orders"],
          responses={201: ok("Created (or the first response replayed for this Idempotency-Key)", OrderOut,
                             headers=LOCATION),
                     409: documented_problem("Not enough stock for a line (named), or this key is still in flight"),
                     422: documented_problem("Invalid body, unknown product, mixed currencies, or the key was used "
                                             "with another body"),
                     503: documented_problem("The idempotency store is unavailable; retry with the same key")})
def create_order(
    order: NewOrder,
    idempotency_key: Annotated[str, Header(alias="idempotency-key", min_length=1, max_length=255,
                                           pattern=IDEMPOTENCY_KEY_PATTERN,
                                           description="Client-chosen key: a retry with it never orders twice")],
) -> Response[OrderOut]:
    actor = current_actor(app)
    _executed.set(False)
    placed = _place_once()(request={"customer": actor.sub, "key": idempotency_key, "groups": sorted(actor.groups),
                                    "order": order.model_dump()})
    headers = {"Location": f"/orders/{placed['order_id']}"}
    if not _executed.get():
        headers["Idempotent-Replayed"] = "true"
    return json_response(201, placed, headers)


_entry = http_handler(NAME, app)


def handler(event: dict, context: LambdaContext) -> dict:
    CONFIG.register_lambda_context(context)  # in-progress records expire with this invocation
    return _entry(event, context)
