"""The AWS side of a first invocation, locally: moto (one process, every API) and Valkey, provisioned from the
manifest exactly as the local stack provisions them (``local.provision``), plus a catalog to read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bazaar.manifest import Function

SELLER_SUB = "bench-seller"


@dataclass
class Backend:
    root: Path
    endpoint_url: str
    cache_url: str
    region: str
    provisioned: Any  # local.provision.Provisioned
    products: list[str] = field(default_factory=list)  # newest first
    _procs: list[Any] = field(default_factory=list)

    def grant_values(self, fn: Function) -> dict[str, str]:
        return self.provisioned.function_grant_env(fn)

    def valkey(self) -> Any:
        import redis

        return redis.Redis.from_url(self.cache_url, decode_responses=True)

    def stop(self) -> None:
        from local.procs import stop_all

        stop_all(self._procs, grace_s=1.0)


def start(root: Path, products: int = 30) -> Backend:
    """moto + Valkey under ``root``, every resource of the manifest provisioned, ``products`` seeded."""
    from local import provision, services
    from local.config import REGION, Paths

    paths = Paths(root.resolve())
    for d in (paths.root, paths.services):
        d.mkdir(parents=True, exist_ok=True)
    pending = services.start_moto(paths)
    valkey = services.start_valkey(paths)
    procs = [pending.proc, valkey.proc]
    try:
        moto = pending.wait()
        services.wait_valkey(valkey)
        prov = provision.provision(moto.url, valkey.url)
        backend = Backend(root, moto.url, valkey.url, REGION, prov, _procs=procs)
        backend.products = seed(backend, products)
    except BaseException:
        from local.procs import stop_all

        stop_all(procs, grace_s=1.0)
        raise
    return backend


def seed(backend: Backend, count: int) -> list[str]:
    """``count`` products through the catalog service (the items and outbox events the functions write)."""
    from local.config import DUMMY_CREDENTIALS

    os.environ.update(DUMMY_CREDENTIALS, AWS_ENDPOINT_URL=backend.endpoint_url, AWS_REGION=backend.region,
                      AWS_DEFAULT_REGION=backend.region)
    from bazaar.adapters.cache import ValkeyCache
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.domain.identity import Actor
    from bazaar.services import catalog

    repo = DynamoProductRepository(backend.provisioned.table_name)
    cache = ValkeyCache.from_url(backend.cache_url)
    actor = Actor(sub=SELLER_SUB, groups=frozenset({"seller"}))
    ids = [catalog.create_product(repo, cache, actor, {"name": f"Bench product {i}", "description": "x" * 200,
                                                       "price_cents": 100 + i, "currency": "EUR", "stock": 1000}
                                  ).product_id for i in range(count)]
    return list(reversed(ids))


def new_products(backend: Backend, count: int) -> list[str]:
    """More products (e.g. one per DELETE measured)."""
    return seed(backend, count)
