"""Definitions of the shared AWS resources, read by both CDK (``infra/``) and the local stack (``local/``).

Keep names and shapes here so the deployed and the local system cannot drift apart.
See docs/table-design.md for the item types and access patterns behind the table's keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from bazaar.manifest import GROUPS, Function, queue_consumers
from bazaar.settings import TRACING_ENV, TRACING_SDK


@dataclass(frozen=True)
class Index:
    name: str
    pk: str
    sk: str


@dataclass(frozen=True)
class TableSpec:
    pk: str = "PK"
    sk: str = "SK"
    ttl_attribute: str = "ttl"
    indexes: tuple[Index, ...] = (
        Index("GSI1", "GSI1PK", "GSI1SK"),  # collections in time order (all products, newest first)
        Index("GSI2", "GSI2PK", "GSI2SK"),  # per-owner collections (a seller's products)
    )
    stream_view: str = "NEW_AND_OLD_IMAGES"

    @property
    def key_attributes(self) -> tuple[str, ...]:
        attrs = [self.pk, self.sk]
        for ix in self.indexes:
            attrs += [ix.pk, ix.sk]
        return tuple(attrs)


TABLE = TableSpec()

EVENTS_TOPIC = "events"  # one topic for every domain event; consumers filter on the "type" message attribute
EVENT_TYPE_ATTRIBUTE = "type"
DLQ_RETENTION_DAYS = 14
QUEUE_RETENTION_DAYS = 4

CURSOR_KEY_SECRET = "cursor-key"
WEBHOOK_SECRET = "payment-webhook"

USER_POOL_GROUPS = GROUPS
PASSWORD_MIN_LENGTH = 12


def resource_name(stage: str, name: str) -> str:
    """Physical names in AWS and locally: ``bazaar-<stage>-<name>``."""
    return f"bazaar-{stage}-{name}"


def secret_name(stage: str, name: str) -> str:
    return f"bazaar/{stage}/{name}"


def function_name(stage: str, fn: Function) -> str:
    """The Lambda function's physical name (``bazaar-dev-get-product``), in AWS and locally."""
    return resource_name(stage, fn.name.replace("_", "-"))


def queue_name(stage: str, fn: Function) -> str:
    return resource_name(stage, fn.name.replace("_", "-"))


def dlq_name(stage: str, fn: Function) -> str:
    """Every consumer has a DLQ: a queue consumer's redrive target, a stream consumer's on-failure destination."""
    return queue_name(stage, fn) + "-dlq"


def delivery_dlq_name(stage: str, fn: Function) -> str:
    """A queue consumer's subscription DLQ: messages SNS could not deliver to its queue (e.g. a policy or key
    problem), kept apart from the messages the consumer failed."""
    return queue_name(stage, fn) + "-delivery-dlq"


MAIL_DOMAIN = "bazaar.example"  # per-stage sender addresses below it; a real deployment overrides it (infra/config)


def mail_sender(stage: str, domain: str = MAIL_DOMAIN) -> str:
    """The From address of Bazaar's e-mail in a stage (its SES identity)."""
    return f"orders@{stage}.{domain}"


def subscription_filter(fn: Function) -> dict[str, list[str]]:
    """The SNS filter policy of a queue consumer's subscription."""
    assert fn.queue is not None
    return {EVENT_TYPE_ATTRIBUTE: sorted(fn.queue.event_types)}


def consumer_queues(stage: str) -> list[tuple[Function, str, str]]:
    return [(fn, queue_name(stage, fn), dlq_name(stage, fn)) for fn in queue_consumers()]


SERVICE_NAME = "bazaar"
METRICS_NAMESPACE = "Bazaar"

# The HTTP API's access log: one JSON object per request, authorizer refusals included (they never reach a
# function, so they have no audit record). Values are API Gateway $context variables; the local gateway writes the
# same keys to ``.local/logs/<ACCESS_LOG_FILE>``. Deliberately no headers (Authorization), no query string
# (cursors), no user agent, no claim but `sub` (the audit actor): the contract forbids tokens and e-mail addresses
# in logs. Every value is a string; API Gateway writes "-" for an empty one.
ACCESS_LOG_FORMAT: dict[str, str] = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "requestTimeEpoch": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "errorMessage": "$context.error.message",
    "sub": "$context.authorizer.claims.sub",
}
ACCESS_LOG_FILE = "api-access.log"


def base_environment(stage: str, fn: Function, log_level: str = "INFO", sdk_tracing: bool = False) -> dict[str, str]:
    """Environment every function gets besides its grant variables (which infra/local fill with real values).

    ``sdk_tracing``: the stage opted in to in-process trace subsegments (bazaar.observability.traced)."""
    return {
        "STAGE": stage,
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": log_level,
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",  # events carry tokens and personal data: never log them whole
        # A validation error turned into text (a failed record's log line) names no documentation URL: pydantic_core
        # would import pydantic to build it (the functions validate with pydantic_core alone, bazaar.schemas.compiled).
        "PYDANTIC_ERRORS_INCLUDE_URL": "0",
        **fn.environment,
        **({TRACING_ENV: TRACING_SDK} if sdk_tracing else {}),
        # No X-Ray daemon outside AWS: tracing would only produce send errors locally.
        **({"POWERTOOLS_TRACE_DISABLED": "true"} if stage == "local" else {}),
    }
