"""Settings a function reads from its environment, once per container.

Resource variables come from the function's grants in the manifest (``GRANT_ENV``); a function that was not
granted a resource does not have its variable, and asking for it fails loudly in that function.
"""

from __future__ import annotations

import os
from functools import lru_cache


class MissingSetting(RuntimeError):
    pass


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(f"environment variable {name} is not set for this function (missing grant?)")
    return value


def stage() -> str:
    return os.environ.get("STAGE", "local")


def is_local() -> bool:
    return stage() == "local"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"


@lru_cache(maxsize=None)
def table_name() -> str:
    return _require("TABLE_NAME")


@lru_cache(maxsize=None)
def events_topic_arn() -> str:
    return _require("EVENTS_TOPIC_ARN")


@lru_cache(maxsize=None)
def cache_url() -> str:
    return _require("CACHE_URL")


@lru_cache(maxsize=None)
def cursor_key_secret_id() -> str:
    return _require("CURSOR_KEY_SECRET_ID")


@lru_cache(maxsize=None)
def webhook_secret_id() -> str:
    return _require("WEBHOOK_SECRET_ID")


# In-process tracing (subsegments per AWS call through the X-Ray SDK) is a per-stage opt-in: infra sets this
# variable only for stages that ask for it, and bazaar.observability imports the SDK only then.
TRACING_ENV = "BAZAAR_TRACING"
TRACING_SDK = "xray-sdk"


def sdk_tracing() -> bool:
    return os.environ.get(TRACING_ENV, "") == TRACING_SDK


def function_name() -> str:
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")


# Cache entry lifetimes: short, because the cache is a latency optimisation, never the source of truth.
PRODUCT_CACHE_TTL_S = int(os.environ.get("PRODUCT_CACHE_TTL_S", "60"))
LIST_CACHE_TTL_S = int(os.environ.get("LIST_CACHE_TTL_S", "15"))
# A list page read within this long after a catalog change (or its event backstop) is kept only until the window
# ends: DynamoDB GSIs are eventually consistent (usually well under a second), so such a page may miss the change.
LIST_SETTLE_MS = int(os.environ.get("LIST_SETTLE_MS", "2000"))
# Single flight: the claim of the reader that loads a missing product entry; it outlives a normal table read by
# far, and expires on its own if that reader dies.
FILL_CLAIM_MS = int(os.environ.get("FILL_CLAIM_MS", "2000"))
# The cache's circuit breaker: seconds it stays open before one probe call may close it again.
CACHE_BREAKER_COOL_DOWN_S = float(os.environ.get("CACHE_BREAKER_COOL_DOWN_S", "5"))
MAX_BODY_BYTES = 64 * 1024


@lru_cache(maxsize=None)
def payment_provider_table() -> str:
    return _require("PAYMENT_PROVIDER_TABLE")


@lru_cache(maxsize=None)
def user_pool_id() -> str:
    return _require("USER_POOL_ID")


@lru_cache(maxsize=None)
def mail_sender() -> str:
    return _require("MAIL_SENDER")
