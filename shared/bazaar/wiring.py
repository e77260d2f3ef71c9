"""Composition root: the adapters a function uses, each created once per container on first use.

Imports happen inside the functions so a handler only pays (cold start) for the adapters it touches.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bazaar import settings

if TYPE_CHECKING:
    from bazaar.adapters.cache import ValkeyCache
    from bazaar.adapters.dynamo.orders import DynamoOrderRepository
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.adapters.events import SnsEventPublisher
    from bazaar.adapters.mail import SesNotifier
    from bazaar.adapters.payments import SimulatedPaymentProvider
    from bazaar.adapters.users import CognitoUserDirectory


@lru_cache(maxsize=None)
def products() -> "DynamoProductRepository":
    from bazaar.adapters.dynamo.products import DynamoProductRepository

    return DynamoProductRepository(settings.table_name())


@lru_cache(maxsize=None)
def cache() -> "ValkeyCache":
    from bazaar.adapters.cache import ValkeyCache

    return ValkeyCache.from_url(settings.cache_url())


def cursor_key() -> bytes:
    from bazaar.adapters.secrets import get_secret_bytes  # cached per container (max age)

    return get_secret_bytes(settings.cursor_key_secret_id())


@lru_cache(maxsize=None)
def event_publisher() -> "SnsEventPublisher":
    from bazaar.adapters.events import SnsEventPublisher

    return SnsEventPublisher(settings.events_topic_arn())


@lru_cache(maxsize=None)
def orders() -> "DynamoOrderRepository":
    from bazaar.adapters.dynamo.orders import DynamoOrderRepository

    return DynamoOrderRepository(settings.table_name())


@lru_cache(maxsize=None)
def payment_provider() -> "SimulatedPaymentProvider":
    from bazaar.adapters.payments import SimulatedPaymentProvider

    return SimulatedPaymentProvider(settings.payment_provider_table())


@lru_cache(maxsize=None)
def user_directory() -> "CognitoUserDirectory":
    from bazaar.adapters.users import CognitoUserDirectory

    return CognitoUserDirectory(settings.user_pool_id())


@lru_cache(maxsize=None)
def notifier() -> "SesNotifier":
    from bazaar.adapters.mail import SesNotifier

    return SesNotifier(settings.mail_sender())


def dynamodb_client() -> Any:
    """The container's one DynamoDB client (the repositories' own, ``bazaar.adapters.dynamo.models.connection``),
    for a store that speaks the low-level API (the idempotency records): a second client would cost a client of
    its own (and, from another session, the SDK data again)."""
    from bazaar.adapters.dynamo.models import connection

    return connection(settings.region()).client


def webhook_secret(force_fetch: bool = False) -> bytes:
    from bazaar.adapters.secrets import get_secret_bytes

    return get_secret_bytes(settings.webhook_secret_id(), force_fetch=force_fetch)


def reset() -> None:
    """Forget every adapter (tests that switch endpoints or tables between cases)."""
    for factory in (products, cache, event_publisher, orders, payment_provider, user_directory, notifier):
        factory.cache_clear()
    for setting in (settings.webhook_secret_id, settings.payment_provider_table, settings.user_pool_id,
                    settings.mail_sender):
        setting.cache_clear()
    from bazaar.adapters import sdk, secrets

    secrets.clear()
    sdk.clear()
    models = sys.modules.get("bazaar.adapters.dynamo.models")  # not imported yet: no client to forget
    if models is not None:
        models.reset()
    settings.table_name.cache_clear()
    settings.cache_url.cache_clear()
    settings.events_topic_arn.cache_clear()
    settings.cursor_key_secret_id.cache_clear()
