"""Demo products, written through the catalog service and the product repository the functions use.

Going through ``bazaar.services.catalog`` (not hand-written items) keeps the seed in the exact item shape
(keys, GSIs, outbox event) the code expects, and makes the seed travel the event path too:
outbox item -> stream -> publish_events -> SNS -> invalidate_cache.
"""

from __future__ import annotations

import os

from local.config import DUMMY_CREDENTIALS, REGION
from local.provision import Provisioned

DEMO_PRODUCTS: tuple[dict, ...] = (
    {"name": "Espresso cup", "description": "Porcelain, 80 ml", "price_cents": 900, "currency": "EUR", "stock": 40},
    {"name": "Pour-over kettle", "description": "Gooseneck, 1 l", "price_cents": 4900, "currency": "EUR",
     "stock": 12},
    {"name": "Tea towel", "description": "Linen", "price_cents": 1200, "currency": "GBP", "stock": 100},
    {"name": "Notebook", "description": "A5, dotted", "price_cents": 1500, "currency": "USD", "stock": 25},
)


def seed_products(stack: Provisioned) -> list[str]:
    """Create the demo products, alternating between the seeded sellers. Returns their ids."""
    # The parent process talks to moto like a function would: same env names, dummy credentials.
    os.environ.update(DUMMY_CREDENTIALS, AWS_ENDPOINT_URL=stack.endpoint_url, AWS_REGION=REGION,
                      AWS_DEFAULT_REGION=REGION)
    from bazaar.adapters.cache import ValkeyCache
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.domain.identity import Actor
    from bazaar.services import catalog

    sellers = [u for u in stack.users if u.group == "seller"]
    repo = DynamoProductRepository(stack.table_name)
    cache = ValkeyCache.from_url(stack.cache_url)
    ids = []
    for i, fields in enumerate(DEMO_PRODUCTS):
        actor = Actor(sub=sellers[i % len(sellers)].sub, groups=frozenset({"seller"}))
        ids.append(catalog.create_product(repo, cache, actor, fields).product_id)
    return ids
