"""The single source of truth for every function Bazaar runs.

Three readers build from this list and nothing else:
- ``infra/`` turns each entry into a Lambda, its route and JWT authorizer (or its event source mapping),
  its log group and exactly the IAM grants listed here;
- ``local/`` turns it into a local gateway route, the same authorizer checks, a Lambda-like worker and pollers;
- ``tests/`` iterate over it (one handler per entry, the authorization matrix, the infra assertions).

Adding an endpoint = one entry here + ``functions/<name>/handler.py`` + its tests.
This module is pure data: no AWS SDK, no CDK, no handler imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, Optional, Union

GROUPS = ("customer", "seller", "admin")


class Grant(str, Enum):
    """A resource a function may touch. Each grant maps to one environment variable and one IAM statement."""

    TABLE_READ = "table:read"  # GetItem/Query on the table and its GSIs
    TABLE_WRITE = "table:write"  # Put/Update/Delete/TransactWrite on the table
    TABLE_STREAM = "table:stream"  # read the table's stream (event source mapping)
    EVENTS_PUBLISH = "events:publish"  # sns:Publish on the domain events topic
    CACHE = "cache"  # connect to the Valkey cache (VPC placement in AWS)
    CURSOR_KEY = "secret:cursor-key"  # read the pagination cursor signing key
    WEBHOOK_SECRET = "secret:payment-webhook"  # read the payment provider's webhook secret
    IDEMPOTENCY = "table:idempotency"  # read/write only its own idempotency records (PK "IDEMPOTENCY#<name>")
    PAYMENT_PROVIDER = "payments:provider"  # the payment provider (simulated: its ledger partition on the table)
    USER_DIRECTORY = "users:read"  # look users up in the Cognito user pool (their e-mail address)
    MAIL_SEND = "mail:send"  # send e-mail through SES from the stage's sender identity


# The environment variable each grant puts into a function's configuration.
# A function without the grant does not get the variable, so a missing grant fails in that function.
GRANT_ENV: dict[Grant, str] = {
    Grant.TABLE_READ: "TABLE_NAME",
    Grant.TABLE_WRITE: "TABLE_NAME",
    Grant.TABLE_STREAM: "TABLE_NAME",
    Grant.IDEMPOTENCY: "TABLE_NAME",
    Grant.EVENTS_PUBLISH: "EVENTS_TOPIC_ARN",
    Grant.CACHE: "CACHE_URL",
    Grant.CURSOR_KEY: "CURSOR_KEY_SECRET_ID",
    Grant.WEBHOOK_SECRET: "WEBHOOK_SECRET_ID",
    Grant.PAYMENT_PROVIDER: "PAYMENT_PROVIDER_TABLE",
    Grant.USER_DIRECTORY: "USER_POOL_ID",
    Grant.MAIL_SEND: "MAIL_SENDER",
}


@dataclass(frozen=True)
class Route:
    """An HTTP API route. Either ``public`` or restricted to callers in at least one of ``groups``.

    ``signed``: a public route (no JWT) whose caller proves itself with a request signature that the function
    verifies (the payment provider's webhook): without a valid one, every caller gets 401 from the function."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    groups: tuple[str, ...] = ()
    public: bool = False
    signed: bool = False

    def __post_init__(self) -> None:
        if self.public == bool(self.groups):
            raise ValueError(f"{self.key}: a route is either public or has groups, not both/neither")
        if self.signed and not self.public:
            raise ValueError(f"{self.key}: a signed route has no JWT authorizer: it must be public")
        unknown = set(self.groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"{self.key}: unknown groups {sorted(unknown)}")
        if not re.fullmatch(r"(/[A-Za-z0-9_.\-]+|/\{[a-z_]+\+?\})+|/", self.path):
            raise ValueError(f"{self.key}: malformed path")

    @property
    def key(self) -> str:
        """The API Gateway route key, e.g. ``GET /products/{product_id}``."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueSource:
    """A consumer fed by its own SQS queue, subscribed to the events topic for ``event_types``."""

    event_types: tuple[str, ...]
    batch_size: int = 10
    max_batching_window_s: int = 0
    max_receive_count: int = 3  # deliveries before the message moves to the consumer's DLQ
    visibility_timeout_s: Optional[int] = None  # default: 6 x the function timeout (AWS guidance)


@dataclass(frozen=True)
class StreamSource:
    """A consumer of the table's stream, restricted to INSERTs of items whose PK starts with ``pk_prefix``."""

    pk_prefix: str
    batch_size: int = 100
    max_batching_window_s: int = 0
    retry_attempts: int = 5
    bisect_batch_on_error: bool = True
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"


Source = Union[Route, QueueSource, StreamSource]


@dataclass(frozen=True)
class Function:
    name: str
    handler: str  # dotted path "functions.<name>.handler.handler"
    source: Source
    grants: tuple[Grant, ...] = ()
    timeout_s: int = 10
    memory_mb: int = 256
    description: str = ""
    # "own": the asset holds functions/<name> only; "all": every function module (the API docs need every router).
    code: Literal["own", "all"] = "own"
    # Files the build generates from the routers into functions/<name>/ (bazaar.web.openapi.GENERATED), so the
    # function reads them instead of importing every router at its cold start.
    generated: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", self.name):
            raise ValueError(f"bad function name {self.name!r}")
        if self.handler != f"functions.{self.name}.handler.handler":
            raise ValueError(f"{self.name}: handler must be functions.{self.name}.handler.handler")

    @property
    def route(self) -> Optional[Route]:
        return self.source if isinstance(self.source, Route) else None

    @property
    def queue(self) -> Optional[QueueSource]:
        return self.source if isinstance(self.source, QueueSource) else None

    @property
    def stream(self) -> Optional[StreamSource]:
        return self.source if isinstance(self.source, StreamSource) else None

    @property
    def env_names(self) -> tuple[str, ...]:
        """The resource variables this function receives, derived from its grants."""
        return tuple(sorted({GRANT_ENV[g] for g in self.grants}))

    @property
    def queue_visibility_timeout_s(self) -> int:
        q = self.queue
        if q is None:
            raise ValueError(f"{self.name} has no queue")
        return q.visibility_timeout_s or 6 * self.timeout_s


def _fn(name: str, source: Source, *grants: Grant, **kw) -> Function:
    return Function(name=name, handler=f"functions.{name}.handler.handler", source=source, grants=grants, **kw)


R, W, CACHE = Grant.TABLE_READ, Grant.TABLE_WRITE, Grant.CACHE
PRODUCT_EVENTS = ("ProductCreated", "ProductUpdated", "ProductDeleted")
STOCK_EVENTS = ("OrderCreated", "OrderCancelled")  # order events that move a product's stock

FUNCTIONS: tuple[Function, ...] = (
    # --- platform ---------------------------------------------------------------------------------------------
    _fn("health", Route("GET", "/health", public=True), memory_mb=128, description="Liveness"),
    _fn("openapi", Route("GET", "/openapi.json", public=True), code="all", generated=("openapi.json",),
        memory_mb=512, description="OpenAPI 3.1 document built from every function's router"),
    _fn("docs", Route("GET", "/docs", public=True), code="all", generated=("docs.html",), memory_mb=512,
        description="Swagger UI with its assets inlined (works offline)"),
    # --- catalog ----------------------------------------------------------------------------------------------
    _fn("list_products", Route("GET", "/products", public=True), R, CACHE, Grant.CURSOR_KEY,
        description="List products, newest first, optionally by seller"),
    _fn("get_product", Route("GET", "/products/{product_id}", public=True), R, CACHE,
        description="One product with ETag, read through the cache"),
    _fn("create_product", Route("POST", "/products", groups=("seller",)), R, W, CACHE,
        description="A seller lists a product"),
    _fn("update_product", Route("PATCH", "/products/{product_id}", groups=("seller", "admin")), R, W, CACHE,
        description="Partial update by the owning seller or an admin"),
    _fn("delete_product", Route("DELETE", "/products/{product_id}", groups=("seller", "admin")), R, W, CACHE,
        description="Delete by the owning seller or an admin"),
    # --- events -----------------------------------------------------------------------------------------------
    _fn("publish_events", StreamSource(pk_prefix="OUTBOX#"), Grant.TABLE_STREAM, Grant.EVENTS_PUBLISH,
        Grant.IDEMPOTENCY,
        timeout_s=30, description="Relays outbox items from the table stream to the events topic"),
    _fn("invalidate_cache", QueueSource(event_types=PRODUCT_EVENTS + STOCK_EVENTS), CACHE, Grant.IDEMPOTENCY, R,
        timeout_s=10,
        description="Evicts cached catalog reads on product changes (backstop for the synchronous eviction); "
                    "refreshes a product's cached stock after an order"),
    # --- orders, payments, notifications ----------------------------------------------------------------------
    _fn("create_order", Route("POST", "/orders", groups=("customer",)), R, W, CACHE, Grant.IDEMPOTENCY,
        description="A customer places an order: stock of every line reserved atomically; idempotent per "
                    "Idempotency-Key"),
    _fn("list_orders", Route("GET", "/orders", groups=("customer",)), R, Grant.CURSOR_KEY,
        description="The caller's own orders, newest first"),
    _fn("get_order", Route("GET", "/orders/{order_id}", groups=("customer", "admin")), R,
        description="One order: its customer or an admin; anyone else 404"),
    _fn("cancel_order", Route("POST", "/orders/{order_id}/cancel", groups=("customer", "admin")), R, W,
        description="Cancel by the order's customer or an admin: stock released, refund if paid; anyone else 404"),
    _fn("payment_webhook", Route("POST", "/payments/webhook", public=True, signed=True), R, W, Grant.WEBHOOK_SECRET,
        Grant.IDEMPOTENCY,
        description="The payment provider's signed webhook (HMAC, no JWT): confirms or cancels pending orders"),
    _fn("process_payments", QueueSource(event_types=("OrderCreated", "RefundRequested")), R, W,
        Grant.PAYMENT_PROVIDER, Grant.IDEMPOTENCY, timeout_s=20,
        description="Charges new orders (idempotency key = order id), confirms or cancels them; refunds"),
    _fn("send_notifications", QueueSource(event_types=("OrderConfirmed", "OrderCancelled")), Grant.USER_DIRECTORY,
        Grant.MAIL_SEND, Grant.IDEMPOTENCY, timeout_s=20,
        description="E-mails customers and sellers about confirmed and cancelled orders (SES)"),
)

BY_NAME: dict[str, Function] = {f.name: f for f in FUNCTIONS}


def get(name: str) -> Function:
    return BY_NAME[name]


def idempotency_partition(fn: Function) -> str:
    """The partition key of a function's idempotency records (IAM restricts it to this leading key)."""
    return f"IDEMPOTENCY#{fn.name}"


def routes() -> list[Function]:
    return [f for f in FUNCTIONS if f.route]


def queue_consumers() -> list[Function]:
    return [f for f in FUNCTIONS if f.queue]


def stream_consumers() -> list[Function]:
    return [f for f in FUNCTIONS if f.stream]


def _check_unique() -> None:
    keys = [f.route.key for f in FUNCTIONS if f.route]
    if len(keys) != len(set(keys)) or len(BY_NAME) != len(FUNCTIONS):
        raise ValueError("duplicate function name or route key in the manifest")


_check_unique()
