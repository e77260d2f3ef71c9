"""POST /orders: a customer places an order; every line's stock is reserved atomically with it.

Idempotent per customer and ``Idempotency-Key`` (Powertools idempotency on the single table): the same key and
body return the first order (201, ``Idempotent-Replayed: true``) and create nothing; the same key with another body
is a 422; while the first request is still running, 409. Another customer's identical key is another record.

Served without the request resolver (bazaar.web.endpoint): the body is validated by its model's compiled validator
(bazaar.schemas.compiled), built on the first request."""

from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar import manifest, settings, wiring
from bazaar.adapters.dynamo.idempotency import BotocorePersistenceLayer  # first: Powertools' package without boto3
from bazaar.domain.identity import Actor
from bazaar.domain.orders import LineRequest, PaymentMethod
from bazaar.services import orders
from bazaar.web.documented import LOCATION, ok
from bazaar.web.documented import problem as documented_problem
from bazaar.web.endpoint import Body, Endpoint
from bazaar.web.idempotency import IDEMPOTENCY_KEY_PATTERN, IdempotencyProblems
from bazaar.web.params import REQUIRED, Param, result

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function  # noqa: E402,I001

if TYPE_CHECKING:
    from bazaar.schemas.orders import NewOrder

NAME = "create_order"
IDEMPOTENCY_TTL_S = 24 * 3600  # a client retries within minutes; a day covers any sane retry policy

# The order's fields as a fresh order (and the document's OrderOut) has them: a replay comes back from the idempotency
# store with its keys sorted, and is answered in this order too.
_ORDER_FIELDS = ("order_id", "customer_id", "status", "items", "total_cents", "currency", "payment_method",
                 "created_at", "updated_at", "cancel_reason")
_LINE_FIELDS = ("product_id", "seller_id", "name", "quantity", "unit_price_cents")

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
    persistence = BotocorePersistenceLayer(
        table_name=settings.table_name, key_attr="PK", sort_key_attr="SK", expiry_attr="ttl",
        static_pk_value=manifest.idempotency_partition(manifest.get(NAME)), client=wiring.dynamodb_client)
    return idempotent_function(data_keyword_argument="request", config=CONFIG, persistence_store=persistence)(_place)


def _returns() -> Any:  # the 201 body, for the document only
    from aws_lambda_powertools.event_handler import Response

    from bazaar.schemas.orders import OrderOut

    return Response[OrderOut]


def _responses() -> dict[int, Any]:
    from bazaar.schemas.orders import OrderOut

    return {201: ok("Created (or the first response replayed for this Idempotency-Key)", OrderOut, headers=LOCATION),
            409: documented_problem("Not enough stock for a line (named), or this key is still in flight"),
            422: documented_problem("Invalid body, unknown product, mixed currencies, or the key was used "
                                    "with another body"),
            503: documented_problem("The idempotency store is unavailable; retry with the same key")}


route = Endpoint(
    NAME, summary="Place an order (customer)", tags=["orders"], returns=_returns, responses=_responses,
    params=[Param("idempotency-key", "header", default=REQUIRED, min_length=1, max_length=255,
                  pattern=IDEMPOTENCY_KEY_PATTERN,
                  description="Client-chosen key: a retry with it never orders twice")],
    body=Body("order", "bazaar.schemas.orders:NewOrder"),
    problems=[IdempotencyProblems(key="Idempotency-Key", key_loc=["header", "idempotency-key"])])


@route
def create_order(actor: Actor, order: "NewOrder", idempotency_key: str) -> dict[str, Any]:
    _executed.set(False)
    placed = _place_once()(request={"customer": actor.sub, "key": idempotency_key, "groups": sorted(actor.groups),
                                    "order": order.model_dump()})
    headers = {"Location": f"/orders/{placed['order_id']}"}
    if not _executed.get():
        headers["Idempotent-Replayed"] = "true"
    body = {k: placed[k] for k in _ORDER_FIELDS if k in placed}
    body["items"] = [{k: line[k] for k in _LINE_FIELDS} for line in placed["items"]]
    return result(201, body, headers)


_entry = route.handler


def handler(event: dict, context: LambdaContext) -> dict:
    CONFIG.register_lambda_context(context)  # in-progress records expire with this invocation
    return _entry(event, context)


def __getattr__(name: str) -> Any:  # `app`: the route as the OpenAPI document declares it, built only for it
    return route.module_attribute(name)
